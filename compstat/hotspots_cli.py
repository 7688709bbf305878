"""``compstat hotspots``: a map layer, the accuracy of hotspot methods, reporting places."""

from __future__ import annotations

import json
from datetime import date, datetime

import click

from compstat import db
from compstat.queries import hotspot_evaluation as ev
from compstat.queries import hotspots as hs
from compstat.queries import reporting_places as rp
from compstat.read_cli import write_output
from compstat.stats.reporting_places import PlaceRule


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


DATE = click.DateTime(["%Y-%m-%d"])


@click.group("hotspots")
def hotspots() -> None:
    """Hotspot map layers and the measured accuracy of hotspot methods."""


@hotspots.command("map")
@click.option("--vintage", required=True)
@click.option("--level", type=click.Choice(hs.LEVELS), default="quadrant", show_default=True)
@click.option("--window", type=click.Choice(hs.WINDOWS), default="28d", show_default=True)
@click.option("--from", "start", type=DATE, help="First day of a custom window.")
@click.option("--to", "end", type=DATE, help="Last day of a custom window.")
@click.option("--as-of", "as_of", type=DATE, help="Last day (default: last loaded Sunday).")
@click.option("--group", default="alto_impacto", show_default=True)
@click.option("--assignment", "basis", type=click.Choice(hs.BASES), default="recorded")
@click.option("--measure", type=click.Choice(hs.MEASURES), default="count", show_default=True)
@click.option("--gi-measure", type=click.Choice(hs.MEASURES), default="density", show_default=True)
@click.option("--permutations", type=int, default=999, show_default=True)
@click.option("--seed", type=int, default=12345, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv"]), default="geojson")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
def map_layer(
    vintage,
    level,
    window,
    start,
    end,
    as_of,
    group,
    basis,
    measure,
    gi_measure,
    permutations,
    seed,
    fmt,
    output,
) -> None:
    """Write the map layer of a window: counts, rates, densities, changes, Gi*, emerging."""
    query = hs.HotspotQuery(
        vintage=vintage,
        level=level,
        window=window,
        as_of=_day(as_of),
        start=_day(start),
        end=_day(end),
        group=group,
        basis=basis,
        measure=measure,
        gi_measure=gi_measure,
        permutations=permutations,
        seed=seed,
    )
    with db.transaction(db.engine()) as conn:
        if fmt == "geojson":
            data = json.dumps(hs.layer_geojson(conn, query), ensure_ascii=False).encode()
        else:
            data = hs.layer_frame(hs.layer(conn, query)).to_csv(index=False).encode()
    write_output(data, output)


@hotspots.command("evaluate")
@click.option("--vintage", required=True)
@click.option("--year", type=int, help="Test windows from the year's first Monday to 31 December.")
@click.option("--from", "start", type=DATE, help="First day of the first test window.")
@click.option("--to", "end", type=DATE, help="Last day test windows may reach.")
@click.option(
    "--group", "--basket", "baskets", multiple=True, help="Group or category (repeatable)."
)
@click.option(
    "--method",
    "--methods",
    "methods",
    multiple=True,
    type=click.Choice([*ev.ALL_METHODS, "all"]),
    help="Method (repeatable; default all forecasts; hindsight is the ceiling).",
)
@click.option("--test-days", type=int, default=28, show_default=True)
@click.option("--train-days", type=int, default=365, show_default=True)
@click.option("--coverage", type=float, default=0.05, show_default=True)
@click.option(
    "--exclude-reporting-places",
    is_flag=True,
    help="Drop the incidents of the reporting places found in the year before --from.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "text", "csv", "json"]),
    default="md",
    help="md (or text): the tables as Markdown text.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="PNG of the scores.")
def evaluate(
    vintage,
    year,
    start,
    end,
    baskets,
    methods,
    test_days,
    train_days,
    coverage,
    exclude_reporting_places,
    fmt,
    output,
    plot_path,
) -> None:
    """Score each method's forecast of each test window (rolling origin): PAI, PEI, RRI."""
    first, last = _span(year, _day(start), _day(end))
    named = tuple(m for m in dict.fromkeys(methods) if m != "all")
    chosen = named if methods and "all" not in methods else (*ev.METHODS, *named)
    chosen = tuple(dict.fromkeys(chosen))
    query = ev.EvaluationQuery(
        vintage=vintage,
        start=first,
        end=last,
        baskets=tuple(dict.fromkeys(baskets)) or ev.DEFAULT_BASKETS,
        methods=chosen,
        test_days=test_days,
        train_days=train_days,
        coverage=coverage,
        exclude_reporting_places=exclude_reporting_places,
    )
    with db.transaction(db.engine()) as conn:
        result = ev.evaluate(conn, query)
    if fmt in ("md", "text"):
        data = ev.markdown(result).encode()
    elif fmt == "csv":
        data = result.windows.to_csv(index=False).encode()
    else:
        data = json.dumps(result.as_json(), ensure_ascii=False, default=str, indent=1).encode()
    write_output(data, output)
    if plot_path:
        write_output(b"", plot_path)
        ev.plot(result, plot_path)


def _span(year: int | None, start: date | None, end: date | None) -> tuple[date, date]:
    """Return the test span: ``--from``/``--to``, else the year's first Monday to 31 December."""
    if year is None and start is None:
        raise click.UsageError("give --year or --from")
    if year is not None:
        first_day = date(year, 1, 1)
        start = start or date.fromordinal(first_day.toordinal() + (7 - first_day.weekday()) % 7)
        end = end or date(year, 12, 31)
    if end is None:
        raise click.UsageError("give --to with --from")
    return start, end


@hotspots.command("places")
@click.option("--vintage", required=True)
@click.option("--from", "start", type=DATE, required=True, help="First day of occurrence.")
@click.option("--to", "end", type=DATE, required=True, help="Last day of occurrence.")
@click.option("--cell-size", type=float, default=PlaceRule.cell_size, show_default=True)
@click.option("--min-per-year", type=float, default=PlaceRule.min_per_year, show_default=True)
@click.option("--min-offences", type=int, default=PlaceRule.min_offences, show_default=True)
@click.option("--min-categories", type=int, default=PlaceRule.min_categories, show_default=True)
@click.option("--min-desk-share", type=float, default=PlaceRule.min_desk_share, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
def places(
    vintage,
    start,
    end,
    cell_size,
    min_per_year,
    min_offences,
    min_categories,
    min_desk_share,
    fmt,
    output,
) -> None:
    """List the reporting places: ~100 m cells where complaints are filed or caught."""
    rule = PlaceRule(cell_size, min_per_year, min_offences, min_categories, min_desk_share)
    query = rp.PlacesQuery(vintage, _day(start), _day(end), rule)
    with db.transaction(db.engine()) as conn:
        if fmt == "json":
            data = json.dumps(rp.as_json(conn, query), ensure_ascii=False, indent=1).encode()
        elif fmt == "csv":
            data = rp.as_csv(rp.places(conn, query)).encode()
        else:
            data = _places_text(rp.as_json(conn, query)).encode()
    write_output(data, output)


def _places_text(result: dict) -> str:
    """Return the places as a plain table with a one-line summary of the rule."""
    rule, rows = result["rule"], result["places"]
    held = sum(row["count"] for row in rows)
    lines = [
        f"Reporting places, vintage {result['vintage']}, {result['from']} to {result['to']}: "
        f"{rule['cell_size']:g} m cells with >= {rule['min_count']} incidents, "
        f">= {rule['min_offences']} offences, >= {rule['min_categories']} categories, "
        f"desk share >= {rule['min_desk_share']:g}.",
        f"{len(rows)} places, {held:,} of {result['incidents']:,} located incidents "
        f"({100 * held / max(result['incidents'], 1):.1f} %).",
        "",
        f"{'#':>3} {'lon':>10} {'lat':>9} {'quadrant':<10} {'count':>6} {'offences':>8} "
        f"{'desk':>5}  label: top offences",
    ]
    for row in rows:
        top = "; ".join(f"{t['offence']} ({t['count']})" for t in row["top_offences"])
        lines.append(
            f"{row['rank']:>3} {row['lon']:>10.5f} {row['lat']:>9.5f} {row['quadrant']:<10} "
            f"{row['count']:>6} {row['offences']:>8} {row['desk_share']:>5.2f}  "
            f"{row['label_es']} ({row['sector_name']}): {top}"
        )
    return "\n".join(lines) + "\n"
