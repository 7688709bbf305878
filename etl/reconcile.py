"""Compare the official SSP monthly spreadsheet with the loaded SSP points."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Connection

from compstat.queries.reconcile import UNSPECIFIED, ssp_monthly
from etl.ssp_spreadsheet import read_ssp_spreadsheet

#: The spreadsheet's spelling of "no quadrant".
BLANK = "(en blanco)"


def reconcile(conn: Connection, path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return per-quadrant-month differences and per-year totals.

    Only months the spreadsheet covers are compared (it ends in 2016-06, with the
    last month partial).

    Returns
    -------
    by_quadrant : pandas.DataFrame
        ``quadrant, month, official, loaded, difference`` (loaded minus official),
        for every quadrant-month where either side is non-zero.
    by_year : pandas.DataFrame
        ``year, official, loaded, difference``.
    """
    sheet = read_ssp_spreadsheet(path)
    official = sheet.counts.assign(
        quadrant=sheet.counts["quadrant"].replace({BLANK: UNSPECIFIED}).astype(object)
    )
    loaded = ssp_monthly(conn)
    loaded = loaded[loaded["month"].between(official["month"].min(), official["month"].max())]
    keys = ["quadrant", "month"]
    merged = pd.merge(
        official.groupby(keys)["count"].sum().rename("official"),
        loaded.groupby(keys)["count"].sum().rename("loaded"),
        left_index=True, right_index=True, how="outer",
    ).fillna(0).astype("int64").reset_index()  # fmt: skip
    merged["difference"] = merged["loaded"] - merged["official"]
    merged["month"] = merged["month"].dt.strftime("%Y-%m")
    by_year = (
        merged.assign(year=merged["month"].str[:4].astype(int))
        .groupby("year")[["official", "loaded"]]
        .sum()
    )
    by_year["difference"] = by_year["loaded"] - by_year["official"]
    return merged.sort_values(keys).reset_index(drop=True), by_year.reset_index()
