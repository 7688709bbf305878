"""The researcher page (``/investigacion``): covariates, the moderator map, audited downloads."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from web import pages
from web.database import run, run_audited
from web.handlers import research as handlers
from web.handlers.research import ResearchQuery

bp = Blueprint("research", __name__)


@bp.get("/investigacion")
def page() -> ResponseReturnValue:
    """Show the moderator map, its uncertain units and the covariate table."""
    return pages.research_page(run(handlers.research_page, ResearchQuery.from_args(request.args)))


@bp.get("/investigacion/descarga")
def download() -> ResponseReturnValue:
    """Download the covariate export and its manifest in one zip, audited."""
    query, fmt = ResearchQuery.from_args(request.args), request.args.get("format", "csv")
    parameters = {**query.arguments(), "format": fmt}
    return pages.research_download(
        run_audited("export", parameters, handlers.research_download, query, fmt)
    )
