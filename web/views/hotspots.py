"""The hotspot map (``/mapa``), its JSON, its downloads and the planner's methods page.

``/mapa.json`` (numbers of a window), ``/mapa/formas.json`` (shapes, once per vintage and
level), ``/mapa/unidades.json`` (the units' commanders and facts, for the pop-ups),
``/mapa/densidad.json`` (the density surface), ``/mapa/puntos.json`` (incident points),
``/mapa/lugares.json`` (reporting places), ``/mapa.geojson`` and ``/mapa.csv`` (the displayed
layer), ``/mapa/metodos``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from web import pages
from web.database import run, run_audited
from web.handlers import hotspots as handlers
from web.handlers.hotspots import MapRequest, ShapesRequest, UnitsRequest

bp = Blueprint("hotspots", __name__)


@bp.get("/mapa")
def page() -> ResponseReturnValue:
    """Show the hotspot map (choosers; the numbers load as JSON)."""
    return pages.map_page(
        run(handlers.map_page, MapRequest.from_args(request.args), current_user.sees_points)
    )


@bp.get("/mapa.json")
def values() -> ResponseReturnValue:
    """Return a window's numbers per unit."""
    return pages.data(run(handlers.map_data, MapRequest.from_args(request.args)))


@bp.get("/mapa/formas.json")
def shapes() -> ResponseReturnValue:
    """Return a level's shapes as TopoJSON (revalidated by ETag: they change with loads)."""
    return pages.cached_json(run(handlers.map_shapes, ShapesRequest.from_args(request.args)))


@bp.get("/mapa/unidades.json")
def units() -> ResponseReturnValue:
    """Return the units' commanders on a day, parents, populations and areas (pop-ups)."""
    return pages.data(run(handlers.map_units, UnitsRequest.from_args(request.args)))


@bp.get("/mapa/puntos.json")
def points() -> ResponseReturnValue:
    """Return the window's incident points (exact places: not researchers; audited)."""
    r = MapRequest.from_args(request.args)
    return pages.data(run_audited("points", request.args.to_dict(), handlers.points_data, r))


@bp.get("/mapa/densidad.json")
def density() -> ResponseReturnValue:
    """Return the window's kernel density surface (finer than a quadrant: not researchers)."""
    return pages.data(run(handlers.density_data, MapRequest.from_args(request.args)))


@bp.get("/mapa/lugares.json")
def places() -> ResponseReturnValue:
    """Return the reporting places of the year to the window's end (not researchers)."""
    return pages.data(run(handlers.places_data, MapRequest.from_args(request.args)))


@bp.get("/mapa.<any(geojson, csv):fmt>")
def download(fmt: str) -> ResponseReturnValue:
    """Download the displayed layer as GeoJSON or CSV (audited)."""
    return pages.layer_download(
        run_audited(
            "export",
            {**request.args.to_dict(), "format": fmt},
            handlers.layer_download,
            MapRequest.from_args(request.args),
        ),
        fmt,
    )


@bp.get("/mapa/metodos")
def methods() -> ResponseReturnValue:
    """Show which hotspot method predicts best: the stored ``hotspots evaluate`` output."""
    return pages.methods_page(handlers.methods_page(current_app.config["HOTSPOT_EVALUATION"]))
