"""Read quadrant files of either vintage and build the nested territory.

Sectors, regions and zones are dissolved from quadrants, so every level nests
exactly. Everything that had to be repaired or normalised is counted in a
:class:`TerritoryReport`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

STORAGE_CRS = 4326
METRIC_CRS = 32614
#: Quadrant ids look like ``P-1.4.8``: zone letter, region, sector, quadrant.
QUADRANT_ID = re.compile(r"^([CNOPS])-(\d+)\.(\d+)\.(\d+)$")
#: Known misspellings of sector names, mapped to the official spelling.
SECTOR_SPELLINGS = {"TAXQUEA": "TAXQUEÑA", "TAXQUENA": "TAXQUEÑA"}
LEVELS = ("zone", "region", "sector", "quadrant")


@dataclass
class TerritoryReport:
    """What loading a vintage found and fixed."""

    repaired_polygons: list[str] = field(default_factory=list)
    lowercase_zone_codes: list[str] = field(default_factory=list)
    sector_names_normalised: dict[str, str] = field(default_factory=dict)
    id_sector_mismatches: list[str] = field(default_factory=list)
    overlapping_pairs: int = 0
    overlap_km2: float = 0.0
    gap_km2: float = 0.0
    gaps: int = 0
    area_km2: float = 0.0

    def as_dict(self) -> dict:
        """Return the report as plain JSON-ready data."""
        return dict(self.__dict__)


@dataclass
class Territory:
    """One vintage's four levels, each a GeoDataFrame in EPSG:4326."""

    zones: gpd.GeoDataFrame
    regions: gpd.GeoDataFrame
    sectors: gpd.GeoDataFrame
    quadrants: gpd.GeoDataFrame
    report: TerritoryReport
    source_crs: str

    def counts(self) -> dict[str, int]:
        """Return the number of units per level."""
        return {f"{lvl}s": len(getattr(self, f"{lvl}s")) for lvl in LEVELS}


def normalise_name(name: str) -> str:
    """Upper-case, trim and collapse spaces; fix known misspellings of sector names."""
    clean = " ".join(str(name).upper().split())
    return SECTOR_SPELLINGS.get(clean, clean)


def read_layer(path: str | Path) -> gpd.GeoDataFrame:
    """Read a polygon layer from a shapefile, GeoPackage or a zip holding one shapefile."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        import zipfile

        with zipfile.ZipFile(path) as archive:
            shp = [n for n in archive.namelist() if n.lower().endswith(".shp")]
        if len(shp) != 1:
            raise ValueError(f"{path}: expected one .shp inside the zip, found {len(shp)}")
        return gpd.read_file(f"zip://{path}!{shp[0]}")
    return gpd.read_file(path)


def _clean_geometry(frame: gpd.GeoDataFrame, report: TerritoryReport) -> gpd.GeoSeries:
    geoms = shapely.force_2d(frame.geometry.values)
    invalid = ~shapely.is_valid(geoms)
    report.repaired_polygons = sorted(frame.loc[invalid, "code"])
    geoms[invalid] = shapely.make_valid(geoms[invalid])
    polygons = [_polygonal(g) for g in geoms]
    series = gpd.GeoSeries(polygons, crs=frame.crs, index=frame.index)
    return series.to_crs(STORAGE_CRS)


def _polygonal(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """Keep the polygonal part of ``geom`` as a MultiPolygon."""
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    if isinstance(geom, shapely.MultiPolygon):
        return geom
    parts = [
        p
        for p in getattr(geom, "geoms", [])
        if isinstance(p, shapely.Polygon | shapely.MultiPolygon)
    ]
    return _polygonal(shapely.union_all(parts))


def _quadrant_codes(raw: pd.DataFrame, report: TerritoryReport) -> pd.Series:
    codes = raw["Nomenclatu"].astype(str).str.strip()
    zone_letters = raw["Cve_Zona"].astype(str).str.strip()
    lower = codes.str.match(r"^[cnops]-") | zone_letters.str.islower()
    report.lowercase_zone_codes = sorted(codes[lower])
    codes = codes.str[:1].str.upper() + codes.str[1:]
    disagree = codes[codes.str[:1] != zone_letters.str.upper()]
    if len(disagree):
        raise ValueError(f"zone letter of the id disagrees with Cve_Zona: {sorted(disagree)[:5]}")
    bad = codes[~codes.str.match(QUADRANT_ID)]
    if len(bad):
        raise ValueError(f"quadrant ids not of the form Z-r.s.q: {sorted(bad)[:5]}")
    return codes


def _sector_names(frame: pd.DataFrame, column: str, report: TerritoryReport) -> pd.Series:
    raw = frame[column].astype(str)
    names = raw.map(normalise_name)
    changed = raw != names
    report.sector_names_normalised.update(dict(zip(raw[changed], names[changed], strict=True)))
    return names


def _aliases(frame: pd.DataFrame, columns: list[str], report: TerritoryReport) -> pd.Series:
    present = [c for c in columns if c in frame]
    cleaned = {c: _sector_names(frame, c, report) for c in present}
    return pd.Series(
        [
            sorted({cleaned[c].iloc[i] for c in present} - {frame["sector_name"].iloc[i]})
            for i in range(len(frame))
        ],
        index=frame.index,
    )


def normalise_quadrants(
    raw: gpd.GeoDataFrame, population: pd.Series | None = None
) -> tuple[gpd.GeoDataFrame, TerritoryReport]:
    """Turn a raw quadrant layer (2016 or 2023 columns) into the common form.

    Parameters
    ----------
    raw : geopandas.GeoDataFrame
        Layer with ``Nomenclatu``, ``Cve_Zona``, ``Zona``, ``No_Region``, ``Cve_Sector``
        and a sector-name column (``Sector2`` in 2016, ``Sector`` in 2023).
    population : pandas.Series, optional
        Population by quadrant code, used when the layer has no ``SUMPOB1``.

    Returns
    -------
    quadrants : geopandas.GeoDataFrame
        Columns ``code, zone_code, zone_name, region_code, region_number, sector_code,
        sector_name, sector_aliases, borough, population, geometry`` (EPSG:4326).
    report : TerritoryReport
    """
    report = TerritoryReport()
    out = pd.DataFrame(index=raw.index)
    out["code"] = _quadrant_codes(raw, report)
    parts = out["code"].str.extract(QUADRANT_ID)
    out["zone_code"] = parts[0]
    out["zone_name"] = raw["Zona"].map(normalise_name)
    out["region_code"] = parts[0] + "-" + parts[1]
    out["region_number"] = pd.to_numeric(raw["No_Region"]).astype(int)
    sector_number = pd.to_numeric(raw["Cve_Sector"]).astype(int).astype(str)
    out["sector_code"] = out["region_code"] + "." + sector_number
    mismatch = parts[2] != sector_number
    report.id_sector_mismatches = sorted(out.loc[mismatch, "code"])
    name_column = "Sector2" if "Sector2" in raw else "Sector"
    out["sector_name"] = _sector_names(raw, name_column, report)
    alias_columns = ["Sector", "Sector_hoy"] if name_column == "Sector2" else []
    out["sector_aliases"] = _aliases(raw.join(out[["sector_name"]]), alias_columns, report)
    out["borough"] = raw.get("Deleg")
    out["population"] = _population(raw, out["code"], population)
    frame = gpd.GeoDataFrame(out, geometry=raw.geometry, crs=raw.crs)
    frame["geometry"] = _clean_geometry(frame, report)
    return frame.reset_index(drop=True), report


def _population(raw: pd.DataFrame, codes: pd.Series, population: pd.Series | None) -> pd.Series:
    if "SUMPOB1" in raw:
        return pd.to_numeric(raw["SUMPOB1"]).round().astype("Int64")
    if population is None:
        return pd.Series(pd.NA, index=raw.index, dtype="Int64")
    return codes.map(population).round().astype("Int64")


def read_population(path: str | Path) -> tuple[pd.Series, pd.Series]:
    """Read a hoyodecrimen quadrant layer: population and sector alias by quadrant code."""
    layer = read_layer(path)
    codes = layer["Nomenclatu"].astype(str).str.strip().str.upper()
    population = pd.Series(pd.to_numeric(layer["SUMPOB1"]).to_numpy(), index=codes)
    alias_col = "Sector_hoy" if "Sector_hoy" in layer else "Sector"
    aliases = pd.Series(layer[alias_col].astype(str).to_numpy(), index=codes)
    return population, aliases


def _dissolve(quadrants: gpd.GeoDataFrame, key: str, attrs: dict[str, str]) -> gpd.GeoDataFrame:
    grouped = quadrants.groupby(key, sort=True)
    geoms = grouped.geometry.apply(lambda s: _polygonal(shapely.union_all(s.values)))
    frame = grouped.agg(**{new: (old, "first") for new, old in attrs.items()})
    frame["population"] = grouped["population"].sum(min_count=1)
    frame = gpd.GeoDataFrame(frame, geometry=geoms.values, crs=quadrants.crs)
    return frame.reset_index().rename(columns={key: "code"})


def _overlaps(quadrants: gpd.GeoDataFrame, report: TerritoryReport) -> None:
    metric = quadrants.to_crs(METRIC_CRS).geometry.values
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    keep = left < right
    shared = shapely.area(shapely.intersection(metric[left[keep]], metric[right[keep]]))
    real = shared > 1.0
    report.overlapping_pairs = int(real.sum())
    report.overlap_km2 = float(shared[real].sum() / 1e6)
    city = shapely.union_all(metric)
    holes = [
        shapely.Polygon(ring) for poly in getattr(city, "geoms", [city]) for ring in poly.interiors
    ]
    report.gaps = len(holes)
    report.gap_km2 = float(sum(h.area for h in holes) / 1e6)
    report.area_km2 = float(city.area / 1e6)


def build_territory(
    raw: gpd.GeoDataFrame,
    population: pd.Series | None = None,
    aliases: pd.Series | None = None,
) -> Territory:
    """Normalise a raw quadrant layer and dissolve it into sectors, regions and zones."""
    source_crs = raw.crs.to_string() if raw.crs else "unknown"
    quadrants, report = normalise_quadrants(raw, population)
    if aliases is not None:
        _add_aliases(quadrants, aliases, report)
    _check_nesting(quadrants)
    _overlaps(quadrants, report)
    sectors = _dissolve(
        quadrants, "sector_code", {"name": "sector_name", "region_code": "region_code"}
    )
    sectors["aliases"] = sectors["code"].map(
        quadrants.groupby("sector_code")["sector_aliases"].agg(lambda s: sorted(set().union(*s)))
    )
    regions = _dissolve(
        quadrants, "region_code", {"number": "region_number", "zone_code": "zone_code"}
    )
    zones = _dissolve(quadrants, "zone_code", {"name": "zone_name"})
    for level in (zones, regions, sectors, quadrants):
        level["area_km2"] = level.to_crs(METRIC_CRS).area / 1e6
    return Territory(zones, regions, sectors, quadrants, report, source_crs)


def _add_aliases(quadrants: gpd.GeoDataFrame, aliases: pd.Series, report: TerritoryReport) -> None:
    """Add another layer's sector name of each quadrant as an alias (normalised, reported)."""
    named = pd.DataFrame({"alias": quadrants["code"].map(aliases).fillna("")})
    extra = _sector_names(named, "alias", report)
    quadrants["sector_aliases"] = [
        sorted(set(current) | ({alias} - {"", name}))
        for current, alias, name in zip(
            quadrants["sector_aliases"], extra, quadrants["sector_name"], strict=True
        )
    ]


def _check_nesting(quadrants: pd.DataFrame) -> None:
    """Raise when a sector spans two regions or a sector name two sectors."""
    checks = [
        ("sector_code", "region_code", "sector spans several regions"),
        ("region_code", "zone_code", "region spans several zones"),
        ("sector_code", "sector_name", "sector has several names"),
        ("sector_name", "sector_code", "sector name used by several sectors"),
        ("region_code", "region_number", "region has several numbers"),
    ]
    for child, parent, message in checks:
        spread = quadrants.groupby(child)[parent].nunique()
        if (spread > 1).any():
            raise ValueError(f"{message}: {sorted(spread[spread > 1].index)[:5]}")
