"""Loaded SSP incidents by the quadrant the SSP recorded, for reconciling official counts."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

#: The SSP's spelling of "no quadrant" in its point file.
UNSPECIFIED = "(NO ESPECIFICADO)"


def ssp_monthly(conn: Connection) -> pd.DataFrame:
    """Return loaded SSP incidents by recorded quadrant, SSP category and month."""
    rows = conn.execute(
        text(
            "SELECT coalesce(i.recorded_quadrant, :unspecified) AS quadrant, "
            "o.reported AS category, date_trunc('month', i.occurred_date)::date AS month, "
            "count(*) AS count FROM incident i "
            "JOIN source s ON s.id = i.source_id AND s.code = 'ssp' "
            "JOIN offence o ON o.id = i.offence_id WHERE i.retired_run_id IS NULL GROUP BY 1, 2, 3"
        ),
        {"unspecified": UNSPECIFIED},
    ).all()
    frame = pd.DataFrame(rows, columns=["quadrant", "category", "month", "count"])
    frame["month"] = pd.to_datetime(frame["month"])
    return frame
