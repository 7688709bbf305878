"""Reporting places: the ~100 m cells where complaints are filed or caught (issue 10.3).

Reads the FGJ incident points of a vintage (located, inside its quadrants) for a date
range, marks the *desk* offences and applies the rule of
:mod:`compstat.stats.reporting_places`. Desk offences are those whose recorded place is
where the complaint was taken rather than where anything happened:

- *office* offences: the ``fraude`` category and the texts of :data:`OFFICE_TEXT`
  (forged documents, false statements before an authority, identity theft, offences
  against the administration of justice, breach of trust, lawyers' offences);
- *store* offences: the ``robo_negocio_sv`` category (theft from a business without
  violence: mostly shoplifters caught by a store's guards).

Each place carries the quadrant and sector holding most of its incidents, its top
offences and a short label: *office* or *store* by which desk share is larger, and the
name of the one block the issue names (:data:`LANDMARKS`) when the place lies in it.
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyproj
from sqlalchemy import Connection, text

from compstat import bulk
from compstat.errors import InvalidQueryError
from compstat.queries import cube as cubes
from compstat.stats.reporting_places import (
    CellProfile,
    PlaceRule,
    cell_positions,
    reporting_places,
)
from geo.grid import METRIC_CRS, to_metric

OFFICE_CATEGORIES = ("fraude",)
OFFICE_TEXT = re.compile(
    r"FALS|USURPACI[OÓ]N DE IDENTIDAD|ADMINISTRACI[OÓ]N DE JUSTICIA|ABUSO DE CONFIANZA|"
    r"ABOGADOS|DECLARACI",
    re.IGNORECASE,
)
STORE_CATEGORIES = ("robo_negocio_sv",)
#: Top offences listed per place.
TOP_OFFENCES = 3
#: Blocks a commander recognises: (Spanish, English, west, south, east, north in degrees).
LANDMARKS = (
    (
        "Doctores: fiscalías y juzgados",
        "Doctores: prosecutors' offices and courts",
        -99.1510,
        19.4200,
        -99.1440,
        19.4265,
    ),
)
KIND_LABELS = {
    "office": ("Oficina de denuncias (fraude, documentos)", "Complaints office (fraud, documents)"),
    "store": ("Tienda (robo por fardero)", "Store (shoplifting)"),
}
COLUMNS = [
    "rank",
    "lon",
    "lat",
    "quadrant",
    "sector",
    "sector_name",
    "count",
    "offences",
    "categories",
    "desk_share",
    "top_share",
    "kind",
    "label_es",
    "label_en",
    "top_offences",
]

_POINTS = (
    "SELECT ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.offence_id AS offence, "
    "i.category_id AS category, q.code AS quadrant "
    "FROM incident i JOIN source so ON so.id = i.source_id "
    "JOIN assignment_with_method m ON m.incident_id = i.id "
    "JOIN quadrant q ON q.id = m.spatial_quadrant_id "
    "WHERE m.vintage_id = %s AND so.code = %s AND i.geom IS NOT NULL "
    "AND i.retired_run_id IS NULL AND i.occurred_date BETWEEN %s AND %s"
)
_POINT_TYPES = {
    "lon": pa.float64(),
    "lat": pa.float64(),
    "offence": pa.int32(),
    "category": pa.int16(),
    "quadrant": pa.string(),
}
_OFFENCES = (
    "SELECT o.id, o.reported, c.code FROM offence o JOIN category c ON c.id = o.category_id "
    "JOIN source s ON s.id = o.source_id WHERE s.code = :source"
)


@dataclass(frozen=True)
class PlacesQuery:
    """Which incidents the places are found in, and the rule.

    Attributes
    ----------
    vintage : str
    start, end : date
        First and last day of occurrence.
    rule : PlaceRule
    source : str
        The source whose offence texts the desk offences are defined on.
    """

    vintage: str
    start: date
    end: date
    rule: PlaceRule = field(default_factory=PlaceRule)
    source: str = "fgj"

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise InvalidQueryError(f"the range starts {self.start} after it ends {self.end}")

    @property
    def days(self) -> int:
        """Days in the range, both ends included."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class PlacePoints:
    """The range's located incidents: metric points, offence and category ids, quadrant."""

    x: np.ndarray
    y: np.ndarray
    offence: np.ndarray
    category: np.ndarray
    quadrant: np.ndarray


def read_points(conn: Connection, q: PlacesQuery) -> PlacePoints:
    """Return the source's located incidents of the range inside the vintage's quadrants."""
    params = (cubes.vintage_id(conn, q.vintage), q.source, q.start, q.end)
    raw = bulk.copy_out_text(conn, _POINTS, params)
    options = pacsv.ConvertOptions(column_types=_POINT_TYPES)
    table = pacsv.read_csv(io.BytesIO(raw), convert_options=options)
    x, y = to_metric(table.column("lon").to_numpy(), table.column("lat").to_numpy())
    return PlacePoints(
        x=np.asarray(x),
        y=np.asarray(y),
        offence=table.column("offence").to_numpy(),
        category=table.column("category").to_numpy(),
        quadrant=table.column("quadrant").to_numpy(zero_copy_only=False),
    )


def offence_table(conn: Connection, source: str = "fgj") -> pd.DataFrame:
    """Return the source's offences: ``reported`` text, ``category`` code, ``office``, ``store``."""
    rows = conn.execute(text(_OFFENCES), {"source": source}).all()
    frame = pd.DataFrame(rows, columns=["id", "reported", "category"]).set_index("id")
    office = frame["category"].isin(OFFICE_CATEGORIES) | frame["reported"].str.contains(OFFICE_TEXT)
    return frame.assign(office=office, store=frame["category"].isin(STORE_CATEGORIES))


@dataclass(frozen=True)
class Found:
    """The places' profile (busiest first), the points searched and the offence table."""

    places: CellProfile
    points: PlacePoints
    offences: pd.DataFrame


def place_keys(conn: Connection, q: PlacesQuery) -> np.ndarray:
    """Return the ``(k, 2)`` cell column and row of the places (for excluding their incidents)."""
    return find(conn, q).places.keys


def find(conn: Connection, q: PlacesQuery) -> Found:
    """Return the places of ``q`` with what they were found in, cached per data version."""

    def compute() -> Found:
        points = read_points(conn, q)
        offences = offence_table(conn, q.source)
        desk = (offences["office"] | offences["store"]).reindex(points.offence).to_numpy(bool)
        places = reporting_places(
            points.x, points.y, points.offence, points.category, desk, q.days, q.rule
        )
        return Found(places, points, offences)

    return cubes.cached_table(conn, ("reporting_places", q), compute)


def incident_total(conn: Connection, q: PlacesQuery) -> int:
    """Return the number of located incidents the places were looked for in."""
    return len(find(conn, q).points.x)


def as_json(conn: Connection, q: PlacesQuery) -> dict:
    """Return the places with their query and rule.

    ``{"vintage", "from", "to", "rule", "incidents", "places": [row, ...]}``, the rows
    with the keys :data:`COLUMNS`.
    """
    frame = places(conn, q)
    return {
        "vintage": q.vintage,
        "from": q.start.isoformat(),
        "to": q.end.isoformat(),
        "rule": asdict(q.rule) | {"min_count": q.rule.min_count(q.days)},
        "incidents": incident_total(conn, q),
        "places": frame.to_dict("records"),
    }


def as_csv(frame: pd.DataFrame) -> str:
    """Return the places as CSV, the top offences as ``TEXT (n); TEXT (n)``."""
    flat = frame.assign(
        top_offences=[
            "; ".join(f"{t['offence']} ({t['count']})" for t in top)
            for top in frame["top_offences"]
        ]
    )
    return flat.to_csv(index=False)


def places(conn: Connection, q: PlacesQuery) -> pd.DataFrame:
    """Return the reporting places, busiest first, with the columns :data:`COLUMNS`.

    ``lon``/``lat`` is the cell's centre (5 decimals); ``top_offences`` a list of
    ``{"offence", "count"}``; ``desk_share`` and ``top_share`` are rounded to 3 decimals.
    """
    result = find(conn, q)
    found, points, offences = result.places, result.points, result.offences
    if len(found.count) == 0:
        return pd.DataFrame(columns=COLUMNS)
    centres = found.centres(q.rule.cell_size)
    lon, lat = _to_lonlat(centres[:, 0], centres[:, 1])
    mine = cell_positions(points.x, points.y, found.keys, q.rule.cell_size)
    sectors = _sectors(conn, q.vintage)
    rows = []
    for i in range(len(found.count)):
        inside = mine == i
        quadrant = pd.Series(points.quadrant[inside]).mode().iloc[0]
        kind = _kind(offences.loc[points.offence[inside]])
        label_es, label_en = _label(kind, lon[i], lat[i])
        rows.append(
            {
                "rank": i + 1,
                "lon": round(float(lon[i]), 5),
                "lat": round(float(lat[i]), 5),
                "quadrant": quadrant,
                "sector": sectors.get(quadrant, (None, None))[0],
                "sector_name": sectors.get(quadrant, (None, None))[1],
                "count": int(found.count[i]),
                "offences": int(found.offences[i]),
                "categories": int(found.categories[i]),
                "desk_share": round(float(found.desk_share[i]), 3),
                "top_share": round(float(found.top_share[i]), 3),
                "kind": kind,
                "label_es": label_es,
                "label_en": label_en,
                "top_offences": _top(offences.loc[points.offence[inside], "reported"]),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    transformer = pyproj.Transformer.from_crs(METRIC_CRS, 4326, always_xy=True)
    lon, lat = transformer.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def _sectors(conn: Connection, vintage: str) -> dict[str, tuple[str, str]]:
    """Return each quadrant's sector code and name."""
    t = cubes.cube(conn, vintage).territory
    return {q: (s, n) for q, s, n in zip(t["quadrant"], t["sector"], t["sector_name"], strict=True)}


def _kind(offences: pd.DataFrame) -> str:
    """Return ``office`` or ``store``: the larger desk share among the place's incidents."""
    return "store" if offences["store"].sum() > offences["office"].sum() else "office"


def _label(kind: str, lon: float, lat: float) -> tuple[str, str]:
    """Return the Spanish and English label: the landmark holding the point, else the kind's."""
    for es, en, west, south, east, north in LANDMARKS:
        if west <= lon <= east and south <= lat <= north:
            return es, en
    return KIND_LABELS[kind]


def _top(reported: pd.Series) -> list[dict]:
    """Return the most frequent offence texts with their counts."""
    counts = reported.value_counts().head(TOP_OFFENCES)
    return [{"offence": name, "count": int(n)} for name, n in counts.items()]
