"""The textbook pipeline: what an analyst would write with pandas, geopandas and SQL.

It produces the same things as the project's loader, in its own tables: the
incidents with their points (``textbook_incident``), one quadrant assignment per
incident and vintage (``textbook_assignment``, NULL = outside every quadrant) and
the counts per vintage, quadrant, category and day (``textbook_daily``). It is
written the ordinary way but fairly: the fast paths the libraries offer by
default (the C CSV reader, vectorised ``to_datetime``, the spatial index inside
``sjoin``) are used, the offence taxonomy is applied once per distinct text, and
each point goes to one quadrant per vintage (the lowest id where polygons
overlap, the project's rule).
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from compstat import taxonomy

INCIDENT, ASSIGNMENT, DAILY = "textbook_incident", "textbook_assignment", "textbook_daily"
CHUNKSIZE = 50_000

QUADRANTS = """
SELECT q.id AS quadrant_id, q.geom FROM quadrant q
JOIN territory_vintage v ON v.id = q.vintage_id WHERE v.id = %(vintage)s
"""
DAILY_SQL = f"""
CREATE TABLE {DAILY} (
    vintage_id smallint NOT NULL,
    quadrant_id integer,
    category_id smallint NOT NULL,
    day date NOT NULL,
    n integer NOT NULL
);
INSERT INTO {DAILY}
SELECT a.vintage_id, a.quadrant_id, i.category_id, i.fecha::date, count(*)
FROM {INCIDENT} i JOIN {ASSIGNMENT} a ON a.incident_id = i.id
GROUP BY 1, 2, 3, 4
"""


def prepare(engine: Engine) -> None:
    """Untimed: drop the textbook tables (the ``category`` table is filled by setup)."""
    with engine.begin() as conn:
        for table in (DAILY, ASSIGNMENT, INCIDENT):
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))


class Steps:
    """Wall time of each step, for the report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now


def run(engine: Engine, path: Path) -> dict:
    """Run the whole pipeline on the FGJ file; return rows and per-step seconds."""
    steps = Steps()
    df = pd.read_csv(path)
    rows_in = len(df)
    steps.done("read_csv")

    df["fecha"] = pd.to_datetime(df["fecha_hecho"], format="mixed", errors="coerce")
    hora = df["hora_hecho"].str.slice(0, 8)
    df["hora"] = pd.to_datetime(hora, format="%H:%M:%S", errors="coerce").dt.time
    df["delito"] = df["delito"].str.strip().str.upper()
    df = df[
        df["fecha"].notna()
        & df["latitud"].between(-90, 90)
        & df["longitud"].between(-180, 180)
        & df["delito"].fillna("").ne("")
    ].reset_index(drop=True)
    with engine.connect() as conn:
        category_ids = dict(conn.execute(text("SELECT code, id FROM category")).all())
    codes = {d: category_ids[taxonomy.classify("fgj", d)] for d in df["delito"].unique()}
    df["category_id"] = df["delito"].map(codes).astype("int16")
    df["id"] = np.arange(1, len(df) + 1, dtype=np.int64)
    steps.done("clean (dates, times, taxonomy)")

    points = gpd.GeoDataFrame(
        df[["id", "fecha", "hora", "delito", "category_id"]],
        geometry=gpd.points_from_xy(df["longitud"], df["latitud"]),
        crs=4326,
    )
    del df
    steps.done("points")

    with engine.connect() as conn:
        vintages = conn.execute(text("SELECT id, name FROM territory_vintage ORDER BY id")).all()
    assignments = []
    for vintage_id, _name in vintages:
        quadrants = gpd.read_postgis(
            QUADRANTS, engine, geom_col="geom", params={"vintage": vintage_id}
        ).to_crs(points.crs)
        joined = gpd.sjoin(points[["id", "geometry"]], quadrants, how="left", predicate="within")
        joined = joined.sort_values(["id", "quadrant_id"]).drop_duplicates("id")
        assignments.append(
            pd.DataFrame(
                {
                    "incident_id": joined["id"].to_numpy(),
                    "vintage_id": vintage_id,
                    "quadrant_id": joined["quadrant_id"].astype("Int32").to_numpy(),
                }
            )
        )
    assignment = pd.concat(assignments, ignore_index=True)
    del assignments, joined
    steps.done("sjoin (both vintages)")

    points.to_postgis(INCIDENT, engine, if_exists="replace", index=False, chunksize=CHUNKSIZE)
    steps.done("to_postgis incidents")
    assignment.to_sql(ASSIGNMENT, engine, if_exists="replace", index=False, chunksize=CHUNKSIZE)
    steps.done("to_sql assignments")

    with engine.begin() as conn:
        for statement in DAILY_SQL.split(";"):
            conn.execute(text(statement))
    steps.done("SQL GROUP BY daily counts")
    return {
        "rows_in": rows_in,
        "rows_stored": len(points),
        "assignments": len(assignment),
        "steps_s": steps.seconds,
    }
