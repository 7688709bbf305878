"""Load a territory vintage into PostGIS, cross-walk it and place stored incidents in it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from sqlalchemy import Connection, Engine, text

from compstat import bulk
from compstat.db import transaction
from compstat.errors import InputFileError, InvalidQueryError
from etl import counts, placement, releases, runs
from geo import territory as geo_territory
from geo.crosswalk import crosswalk

LEVEL_SQL = {
    "zone": "INSERT INTO zone (vintage_id, code, name, population, area_km2, geom) VALUES "
    "(:v, :code, :name, :population, :area_km2, ST_GeomFromWKB(:wkb, 4326)) RETURNING id",
    "region": "INSERT INTO region (vintage_id, zone_id, code, number, name, population, area_km2, "
    "geom) VALUES (:v, :parent, :code, :number, :name, :population, :area_km2, "
    "ST_GeomFromWKB(:wkb, 4326)) RETURNING id",
    "sector": "INSERT INTO sector (vintage_id, region_id, code, name, aliases, population, "
    "area_km2, geom) VALUES (:v, :parent, :code, :name, :aliases, :population, :area_km2, "
    "ST_GeomFromWKB(:wkb, 4326)) RETURNING id",
    "quadrant": "INSERT INTO quadrant (vintage_id, sector_id, code, borough, population, "
    "area_km2, geom) VALUES (:v, :parent, :code, :borough, :population, :area_km2, "
    "ST_GeomFromWKB(:wkb, 4326)) RETURNING id",
}
PARENT = {
    "region": ("zone", "zone_code"),
    "sector": ("region", "region_code"),
    "quadrant": ("sector", "sector_code"),
}


def read_territory(path: Path, population: Path | None) -> geo_territory.Territory:
    """Read and build a vintage from a quadrant layer (and an optional population layer)."""
    try:
        raw = geo_territory.read_layer(path)
        extra = geo_territory.read_population(population) if population else (None, None)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputFileError(f"{path}: cannot read the quadrant layer: {exc}") from exc
    missing = {"Nomenclatu", "Cve_Zona", "Zona", "No_Region", "Cve_Sector"} - set(raw.columns)
    if missing:
        raise InputFileError(f"{path}: the layer lacks columns {sorted(missing)}")
    return geo_territory.build_territory(raw, *extra)


def _row_params(level: str, row: pd.Series, vintage_id: int, parents: dict) -> dict:
    params = {
        "v": vintage_id,
        "code": row["code"],
        "wkb": shapely.to_wkb(row.geometry),
        "population": None if pd.isna(row["population"]) else int(row["population"]),
        "area_km2": float(row["area_km2"]),
    }
    if level in PARENT:
        parent_level, key = PARENT[level]
        params["parent"] = parents[parent_level][row[key]]
    if level == "region":
        params.update(number=int(row["number"]), name=f"Región {row['code']}")
    elif level in ("zone", "sector"):
        params["name"] = row["name"]
    if level == "sector":
        params["aliases"] = list(row["aliases"])
    if level == "quadrant":
        params["borough"] = row["borough"]
    return params


def _insert_levels(conn: Connection, territory: geo_territory.Territory, vintage_id: int):
    ids: dict[str, dict[str, int]] = {}
    for level in geo_territory.LEVELS:
        frame = getattr(territory, f"{level}s")
        statement = text(LEVEL_SQL[level])
        ids[level] = {
            row["code"]: conn.execute(statement, _row_params(level, row, vintage_id, ids)).scalar()
            for _, row in frame.iterrows()
        }
    return ids


def _store_crosswalks(conn: Connection, vintage_id: int, quadrants: gpd.GeoDataFrame, ids):
    others = conn.execute(
        text("SELECT id, vintage_id, ST_AsBinary(geom) FROM quadrant WHERE vintage_id <> :v"),
        {"v": vintage_id},
    ).all()
    if not others:
        return 0
    other = gpd.GeoDataFrame(
        {"qid": [r[0] for r in others]},
        geometry=shapely.from_wkb([bytes(r[2]) for r in others]),
        crs=4326,
    )
    mine = quadrants.assign(qid=quadrants["code"].map(ids["quadrant"]))[["qid", "geometry"]]
    pairs = pd.concat([crosswalk(mine, other), crosswalk(other, mine)], ignore_index=True)
    conn.execute(
        text(
            "INSERT INTO quadrant_crosswalk (from_quadrant_id, to_quadrant_id, overlap_km2, "
            "share_of_from, share_of_to) "
            "VALUES (:from_id, :to_id, :overlap_km2, :share_of_from, :share_of_to)"
        ),
        pairs.to_dict("records"),
    )
    return len(pairs)


def _stored_incidents(conn: Connection) -> pd.DataFrame:
    query = (
        "SELECT i.id, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.recorded_quadrant, "
        "s.recorded_vintage, i.category_id, i.occurred_date, "
        "(i.retired_run_id IS NULL)::integer AS live FROM incident i "
        "JOIN source s ON s.id = i.source_id ORDER BY i.id"
    )
    raw = bulk.copy_out_text(conn, query)
    types = {
        "id": pa.int64(),
        "lon": pa.float64(),
        "lat": pa.float64(),
        "recorded_quadrant": pa.string(),
        "recorded_vintage": pa.string(),
        "category_id": pa.int16(),
        "occurred_date": pa.date32(),
        "live": pa.int8(),
    }
    table = pacsv.read_csv(
        io.BytesIO(raw), convert_options=pacsv.ConvertOptions(column_types=types)
    )
    return table.to_pandas()


def place_stored_incidents(conn: Connection, vintage_id: int) -> int:
    """Assign every stored incident to the quadrants of one vintage and count them."""
    vintage = placement.load_vintages(conn, only=vintage_id)[0]
    frame = _stored_incidents(conn)
    if frame.empty:
        return 0
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    mine = (frame["recorded_vintage"] == vintage.name).to_numpy()
    recorded = [
        c if m and isinstance(c, str) else None
        for c, m in zip(frame["recorded_quadrant"], mine, strict=True)
    ]
    placed = placement.place([vintage], lon, lat, recorded, vintage.name, own=mine)
    counter = counts.DailyCounter()
    days = frame["occurred_date"].to_numpy().astype("datetime64[D]")
    # retired incidents are placed (for the counts as of earlier runs) but not counted
    live = frame["live"].to_numpy().astype(bool)
    counter.add(
        releases.live_only(placed, live), frame["category_id"].to_numpy(np.int16)[live], days[live]
    )
    with bulk.CopyQueue(conn) as queue:
        placement.queue_assignments(queue, frame["id"].to_numpy(np.int64), placed)
        counts.queue_counts(queue, counter)
    counts.finish(conn)
    bulk.analyze_if_grown(conn, "assignment", len(frame))
    return len(frame)


def load_territory(
    engine: Engine, path: str | Path, vintage: str, population: str | Path | None = None
) -> dict:
    """Load vintage ``vintage`` from ``path``; a no-op when the same file was loaded before.

    Returns
    -------
    dict
        ``counts`` per level, the validation ``report``, ``crosswalk_pairs`` and
        ``incidents_placed``.
    """
    path = Path(path)
    sha = runs.file_sha256(path) if path.is_file() else ""
    with transaction(engine) as conn:
        runs.lock_loads(conn)
        existing = conn.execute(
            text("SELECT file_sha256, report FROM territory_vintage WHERE name = :n"),
            {"n": vintage},
        ).first()
        if existing is not None:
            if existing[0] != sha:
                raise InvalidQueryError(
                    f"vintage {vintage} is already loaded from another file; vintages are "
                    "immutable: load this file under a new vintage name"
                )
            return {**existing[1], "already_loaded": True}
        territory = read_territory(path, Path(population) if population else None)
        vintage_id = conn.execute(
            text(
                "INSERT INTO territory_vintage (name, source_file, file_sha256, source_crs) "
                "VALUES (:n, :f, :s, :c) RETURNING id"
            ),
            {"n": vintage, "f": path.name, "s": sha, "c": territory.source_crs},
        ).scalar_one()
        ids = _insert_levels(conn, territory, vintage_id)
        pairs = _store_crosswalks(conn, vintage_id, territory.quadrants, ids)
        run_id = runs.start_run(conn, "territory", path, sha, vintage_id=vintage_id)
        placed = place_stored_incidents(conn, vintage_id)
        result = {
            "counts": territory.counts(),
            "report": territory.report.as_dict(),
            "crosswalk_pairs": pairs,
            "incidents_placed": placed,
        }
        conn.execute(
            text("UPDATE territory_vintage SET report = CAST(:r AS jsonb) WHERE id = :v"),
            {"r": json.dumps(result), "v": vintage_id},
        )
        runs.finish_run(
            conn,
            run_id,
            {"read": placed, "loaded": placed, "duplicates": 0, "quarantined": 0},
            result,
        )
        return result
