"""The hotspot map's server side against the same map built naively, measured in one run.

For 28-day windows at quadrant level of vintage 2023 (FGJ 2019-2023 loaded), on one
read-only connection with the count cube warm:

* ``map_layer``: the first map of a window as a logged-in planner's browser gets it
  through the app (a Flask test client): the ``/mapa`` page, the shapes
  (``/mapa/formas.json``: the topology built and written once per data version, sent in
  full, not as a 304) and the numbers (``/mapa.json``: computed, not cached: counts,
  changes, Gi* with 999 permutations, emerging hot spots; what is built once per data
  version, the topology, contiguity weights and permutation draws, is built by a map of
  another window first),
  with the bytes of both responses, and the bytes of the same layer downloaded as one
  GeoJSON (``download_bytes``). The libraries (Leaflet, map.js) are not counted, as the
  naive page's are not;
* ``window_switch``: another window's numbers only (``/mapa.json``, no shapes), with its
  bytes;
* ``gi_star_999``: Gi* with 999 permutations over the 847 quadrant densities;
* ``kde``: the 28 days' incident points taken from the vintage's points (read once per
  data version: ``points_load_ms``) and their 250 m quartic surface on the 250 m grid;
* ``naive``: the map built as a first version would: the window's raw incidents read,
  counted per quadrant in pandas, quadrants with full geometry, a folium choropleth and a
  heat map of the points rendered to HTML, nothing cached; with its page bytes.

Run alone against the demo database with ``python -m bench.hotspots`` (read-only;
``DATABASE_URL`` overrides the database).
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, text

from bench.client import body, logged_in
from compstat.queries import cube as cubes
from compstat.queries import hotspots as hs
from compstat.stats.getis_ord import gi_star

VINTAGE = "2023"
DEMO_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/compstat"
#: Sundays of 2023, one per measured map.
AS_OF = tuple(date(2023, 2, 5) + timedelta(weeks=3 * i) for i in range(16))
REPEAT = {"map_layer": 6, "window_switch": 6, "gi_star_999": 10, "kde": 4, "naive": 3}

_NAIVE_POINTS = """
SELECT ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, q.code AS quadrant
FROM incident i
JOIN assignment_with_method m ON m.incident_id = i.id
JOIN category c ON c.id = i.category_id AND c.high_impact
JOIN quadrant q ON q.id = m.quadrant_id
WHERE m.vintage_id = (SELECT id FROM territory_vintage WHERE name = :vintage)
  AND i.occurred_date BETWEEN :start AND :end AND i.geom IS NOT NULL
"""
_NAIVE_SHAPES = """
SELECT q.code, ST_AsGeoJSON(q.geom) AS geojson FROM quadrant q
JOIN territory_vintage v ON v.id = q.vintage_id WHERE v.name = :vintage
"""


def _timed(work: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    value = work()
    return time.perf_counter() - t0, value


def _summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(float(np.percentile(ordered, 95)) * 1000, 1),
    }


def _query(as_of: date, **kwargs) -> hs.HotspotQuery:
    return hs.HotspotQuery(VINTAGE, level="quadrant", window="28d", as_of=as_of, **kwargs)


def _sizes(*bodies: bytes) -> tuple[int, int]:
    """Return the bytes of ``bodies`` raw and gzip-compressed (as a server would send them)."""
    return sum(len(b) for b in bodies), sum(len(gzip.compress(b, 6)) for b in bodies)


def _map_query(as_of: date, **extra: str) -> str:
    args = {"vintage": VINTAGE, "level": "quadrant", "window": "28d", "as_of": as_of, **extra}
    return "&".join(f"{k}={v}" for k, v in args.items())


def map_page(client: FlaskClient, as_of: date) -> list[bytes]:
    """Return a first map of the 28 days to ``as_of`` as a browser gets it.

    The page, the shapes and the numbers, one request after the other.
    """
    return [
        body(client, f"/mapa?{_map_query(as_of)}"),
        body(client, f"/mapa/formas.json?vintage={VINTAGE}&level=quadrant"),
        body(client, f"/mapa.json?{_map_query(as_of)}"),
    ]


def window_switch(client: FlaskClient, as_of: date) -> list[bytes]:
    """Return another window's numbers (JSON only)."""
    return [body(client, f"/mapa.json?{_map_query(as_of)}")]


def naive_map(conn: Connection, as_of: date) -> list[bytes]:
    """Build the map from raw incidents and full geometry with folium; return its HTML."""
    import folium
    from folium.plugins import HeatMap

    start = as_of - timedelta(days=27)
    params = {"vintage": VINTAGE, "start": start, "end": as_of}
    points = pd.DataFrame(conn.execute(text(_NAIVE_POINTS), params).mappings().all())
    counts = points.groupby("quadrant").size().rename("count").reset_index()
    shapes = conn.execute(text(_NAIVE_SHAPES), {"vintage": VINTAGE}).all()
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": code, "properties": {"code": code}, "geometry": json.loads(g)}
            for code, g in shapes
        ],
    }
    page = folium.Map(location=[19.4, -99.13], zoom_start=11)
    folium.Choropleth(
        geo_data=collection,
        data=counts,
        columns=["quadrant", "count"],
        key_on="feature.properties.code",
        fill_color="YlOrRd",
    ).add_to(page)
    HeatMap(points[["lat", "lon"]].to_numpy().tolist(), radius=8).add_to(page)
    return [page.get_root().render().encode()]


def _runs(work: Callable[[date], list[bytes]], days: tuple[date, ...]) -> dict:
    """Time ``work`` for each day (responses only: their sizes are taken after the timer)."""
    runs = [_timed(lambda d=d: work(d)) for d in days]
    raw, zipped = _sizes(*runs[-1][1])
    return {**_summary([t for t, _ in runs]), "bytes": raw, "gzip_bytes": zipped}


def measure(engine: Engine) -> dict:
    """Return p50/p95 of each measured step (milliseconds), payload bytes and speed-ups."""
    out: dict = {}
    with engine.connect() as conn:
        conn.execute(text("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"))
        conn.commit()
        cubes.cube(conn, VINTAGE)
        hs.simplified_shapes(conn, VINTAGE, "quadrant")
        hs.vintage_grid(conn, VINTAGE, 250.0)
        out["points_load_ms"] = round(_timed(lambda: hs.incident_points(conn, VINTAGE))[0] * 1000)
        first, switches, surfaces = AS_OF[:6], AS_OF[6:12], AS_OF[12:]
        client = logged_in(engine)
        # What is built once per data version (topology, contiguity weights, permutation
        # draws), with a window that is not measured.
        map_page(client, AS_OF[-1])
        out["map_layer"] = _runs(lambda d: map_page(client, d), first[: REPEAT["map_layer"]])
        download = hs.layer_geojson(conn, _query(first[0]))
        out["map_layer"]["download_bytes"] = len(json.dumps(download).encode())
        out["window_switch"] = _runs(lambda d: window_switch(client, d), switches)
        layer = hs.layer(conn, _query(AS_OF[0]))
        values = layer.rows["density_km2"].to_numpy(float)
        weights = hs.level_weights(conn, VINTAGE, "quadrant", layer.rows["unit_id"].tolist())
        out["gi_star_999"] = _summary(
            [
                _timed(lambda s=s: gi_star(values, weights, permutations=999, seed=s))[0]
                for s in range(REPEAT["gi_star_999"])
            ]
        )
        out["kde"] = _summary(
            [_timed(lambda d=d: hs.kde_surface(conn, _query(d)))[0] for d in surfaces]
        )
        out["naive"] = _runs(lambda d: naive_map(conn, d), AS_OF[: REPEAT["naive"]])
    out["speedup_p50"] = round(out["naive"]["p50_ms"] / out["map_layer"]["p50_ms"], 1)
    out["lighter"] = round(out["naive"]["bytes"] / out["map_layer"]["bytes"], 1)
    out["lighter_gzip"] = round(out["naive"]["gzip_bytes"] / out["map_layer"]["gzip_bytes"], 1)
    out["switch_lighter"] = round(out["naive"]["bytes"] / out["window_switch"]["bytes"], 1)
    return out


if __name__ == "__main__":
    url = os.environ.get("DATABASE_URL", DEMO_URL).replace("postgresql://", "postgresql+psycopg://")
    print(json.dumps(measure(create_engine(url)), indent=1))
