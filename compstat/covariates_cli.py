"""The ``compstat covariates`` export and ``compstat moderator sensitivity``.

Each export writes ``FILE`` and ``FILE.manifest.json`` beside it; ``--from-manifest``
recomputes a frozen export from the load runs its manifest lists, byte for byte.
"""

from __future__ import annotations

import io
import json
import shlex
from datetime import date, datetime
from pathlib import Path

import click
import pandas as pd

from compstat import db, snapshots, trial_io
from compstat.errors import CompstatError, InputFileError, InvalidQueryError
from compstat.presets import DEFAULT_PRESET, Preset, preset, variants
from compstat.queries import covariates as cq
from compstat.stats import moderator

DATE = click.DateTime(["%Y-%m-%d"])
NEAR_BAND = (0.1, 0.9)


def read_units(path: str) -> tuple[str, ...]:
    """Read the comparison set: a CSV/Parquet with a ``unit_id`` (or ``sector``) column."""
    table = trial_io.read_table(path)
    column = next((c for c in ("unit_id", "sector") if c in table.frame.columns), None)
    if column is None:
        raise InputFileError(f"{path}: missing column unit_id (or sector)")
    units = tuple(table.text(column))
    if not units:
        raise InputFileError(f"{path}: lists no units")
    return units


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _command(request: cq.CovariateRequest, units_file: str | None, fmt: str) -> str:
    parts = ["compstat", "covariates", "--vintage", request.vintage, "--level", request.level]
    parts += ["--from", request.start.isoformat(), "--to", request.end.isoformat()]
    if units_file:
        parts += ["--units", units_file]
    parts += ["--preset", request.preset.name, "--assignment", request.basis]
    parts += ["--census", request.census_year, "--format", fmt]
    return shlex.join(parts)


def manifest(result: cq.Covariates, fmt: str, units_file: str | None) -> dict:
    """Return everything that produced ``result`` (the file's name and hash are added later)."""
    request = result.request
    return {
        "command": _command(request, units_file, fmt),
        "parameters": {
            "vintage": request.vintage,
            "level": request.level,
            "from": request.start.isoformat(),
            "to": request.end.isoformat(),
            "assignment": request.basis,
            "census": request.census_year,
            "format": fmt,
            "units_file": units_file,
            "units": list(request.units) if request.units is not None else None,
        },
        "preset": request.preset.to_dict(),
        "vintage": result.vintage,
        "census": result.census,
        "load_runs": result.runs,
        "windows": {
            "counts": {"from": request.start.isoformat(), "to": request.end.isoformat()},
            "counts_months": result.months,
            "moderator": {
                "from": request.moderator_start.isoformat(),
                "to": request.end.isoformat(),
            },
            "moderator_months": request.preset.months,
        },
        "notes": result.notes,
        "code_version": snapshots.code_version(),
        "rows": len(result.frame),
    }


def snapshot(
    conn, request: cq.CovariateRequest, fmt: str, name: str, units_file: str | None = None
) -> tuple[bytes, dict]:
    """Compute and render an export; return its bytes and its complete manifest.

    The web's downloads use this too, so a file made there is the file the CLI makes.
    """
    result = cq.compute(conn, request)
    labels = cq.column_labels(list(result.frame.columns), request.preset.groups)
    data = snapshots.render(result.frame, fmt, labels, result.geometry)
    return data, snapshots.complete(manifest(result, fmt, units_file), name, data)


def export(conn, request: cq.CovariateRequest, fmt: str, out: str, units_file: str | None):
    """Compute, render and write an export and its manifest; return the manifest."""
    data, frozen = snapshot(conn, request, fmt, Path(out).name, units_file)
    return snapshots.write(out, data, frozen)


def request_from_manifest(conn, path: str) -> tuple[cq.CovariateRequest, dict]:
    """Rebuild the request a manifest froze, after checking its inputs are unchanged."""
    try:
        frozen = json.loads(Path(path).read_text(encoding="utf-8"))
        params = frozen["parameters"]
        request = cq.CovariateRequest(
            vintage=params["vintage"],
            level=params["level"],
            start=date.fromisoformat(params["from"]),
            end=date.fromisoformat(params["to"]),
            units=None if params["units"] is None else tuple(params["units"]),
            preset=Preset.from_dict(frozen["preset"]),
            basis=params["assignment"],
            census=params["census"],
            runs=tuple(run["id"] for run in frozen["load_runs"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputFileError(f"{path}: not a covariates manifest ({exc})") from None
    stored = {run["id"]: run["file_sha256"] for run in cq.load_runs(conn, request.runs)}
    for run in frozen["load_runs"]:
        if stored[run["id"]] != run["file_sha256"]:
            raise InputFileError(f"{path}: load run {run['id']} now holds another file")
    if cq.vintage_info(conn, request.vintage)["file_sha256"] != frozen["vintage"]["file_sha256"]:
        raise InputFileError(f"{path}: vintage {request.vintage} was loaded from another file")
    return request, frozen


@click.command("covariates")
@click.option("--vintage", type=click.Choice(list(cq.CENSUS)))
@click.option("--level", type=click.Choice(cq.LEVELS), default="sector", show_default=True)
@click.option("--from", "start", type=DATE, help="First day of the window.")
@click.option("--to", "end", type=DATE, help="Last day of the window (the moderator's end).")
@click.option(
    "--units",
    "units_file",
    type=click.Path(dir_okay=False),
    help="CSV/Parquet with unit_id (or sector): the comparison set for ranks and cut-off.",
)
@click.option("--preset", "preset_name", default=DEFAULT_PRESET, show_default=True)
@click.option("--assignment", "basis", type=click.Choice(cq.BASES), default="recorded")
@click.option(
    "--census",
    type=click.Choice(sorted(set(cq.CENSUS.values()))),
    help="Census of the populations (default: the vintage's own; another is carried by area).",
)
@click.option("--format", "fmt", type=click.Choice(snapshots.FORMATS), help="Default: from --out.")
@click.option("--from-manifest", "from_manifest", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", required=True, type=click.Path(dir_okay=False))
def covariates(
    vintage, level, start, end, units_file, preset_name, basis, census, fmt, from_manifest, out
) -> None:
    """Export one row of crime covariates and the moderator per unit, with a manifest."""
    with db.transaction(db.engine()) as conn:
        if from_manifest:
            request, frozen = request_from_manifest(conn, from_manifest)
            fmt = frozen["parameters"]["format"]
            written = export(conn, request, fmt, out, frozen["parameters"]["units_file"])
            if written["sha256"] != frozen["sha256"]:
                raise InvalidQueryError(
                    f"{out}: does not reproduce {frozen['file']} (SHA-256 {written['sha256']}, "
                    f"the manifest says {frozen['sha256']})"
                )
            click.echo(f"reproduced {frozen['file']} byte for byte: {out} ({written['sha256']})")
            return
        missing = [
            n for n, v in (("--vintage", vintage), ("--from", start), ("--to", end)) if not v
        ]
        if missing:
            raise InvalidQueryError(f"missing {', '.join(missing)} (or give --from-manifest)")
        request = cq.CovariateRequest(
            vintage=vintage,
            level=level,
            start=_day(start),
            end=_day(end),
            units=read_units(units_file) if units_file else None,
            preset=preset(preset_name),
            basis=basis,
            census=census,
        )
        written = export(conn, request, snapshots.format_of(out, fmt), out, units_file)
    click.echo(f"wrote {out}: {written['rows']} rows, SHA-256 {written['sha256']}")
    click.echo(f"wrote {snapshots.manifest_path(out)}")


# ----------------------------------------------------------------------------- sensitivity


def variant_request(base: cq.CovariateRequest, parameter: str, value: str) -> cq.CovariateRequest:
    """Return ``base`` with one pre-declared parameter changed."""
    if parameter == "assignment":
        return base.replace(basis=value)
    if parameter == "census":
        return base.replace(census=value)
    return base.replace(preset=base.preset.with_change(parameter, value))


def sensitivity(conn, base: cq.CovariateRequest, draws: int, seed: int) -> dict:
    """Run the pre-declared variants; return class changes, stability and near units."""
    cache: dict = {}
    reference = cq.compute(conn, base, cache)
    members = reference.inputs["members"]
    frame = reference.frame.loc[members, ["unit_id", "moderator_value", "higher_crime"]]
    table = frame.reset_index(drop=True)
    # Every variant classifies the same units as the reference.
    fixed = base.replace(units=tuple(table["unit_id"]))
    summary = []
    for variant in variants():
        row = {"variant": variant.name, "parameter": variant.parameter, "value": variant.value}
        try:
            result = cq.compute(
                conn, variant_request(fixed, variant.parameter, variant.value), cache
            )
        except CompstatError as exc:
            # Reported, not dropped: e.g. the other census needs the other vintage loaded.
            summary.append(row | {"n_higher": None, "n_changed": None, "unavailable": str(exc)})
            continue
        classes = result.frame.loc[members, "higher_crime"].to_numpy(dtype=float)
        table[variant.name] = pd.array(classes.astype(int), dtype="Int8")
        changed = moderator.class_changes(table["higher_crime"].to_numpy(float), classes)
        summary.append(
            row | {"n_higher": int(classes.sum()), "n_changed": changed, "unavailable": None}
        )
    probability = cq.higher_class_probability(reference, draws, seed)[members]
    table["probability_higher"] = probability
    table["near_cutoff"] = moderator.near_cutoff(probability, NEAR_BAND).astype(int)
    return {
        "preset": base.preset.name,
        "preset_version": base.preset.version,
        "vintage": base.vintage,
        "level": base.level,
        "to": base.end.isoformat(),
        "n_units": len(table),
        "draws": draws,
        "seed": seed,
        "near_cutoff_band": list(NEAR_BAND),
        "variants": summary,
        "near_cutoff": table.loc[table["near_cutoff"] == 1, "unit_id"].tolist(),
        "units": table,
    }


def _changes_by_unit(units: pd.DataFrame, summary: list[dict]) -> pd.DataFrame:
    """Return the units that change class under some variant, or sit near the cut-off."""
    ran = [row["variant"] for row in summary if row["unavailable"] is None]
    changes = units[ran].ne(units["higher_crime"], axis=0)
    listed = changes.any(axis=1) | (units["near_cutoff"] == 1)
    return pd.DataFrame(
        {
            "unit_id": units["unit_id"],
            "higher_crime": units["higher_crime"],
            "changes_under": changes.apply(lambda row: ", ".join(row.index[row]), axis=1),
            "probability_higher": units["probability_higher"].round(3),
        }
    )[listed]


def _markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * frame.shape[1]]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |")
    return "\n".join(lines)


@click.group("moderator")
def moderator_group() -> None:
    """Check the higher-crime-area moderator: sensitivity and stability of its classes."""


@moderator_group.command("sensitivity")
@click.option("--vintage", required=True, type=click.Choice(list(cq.CENSUS)))
@click.option("--level", type=click.Choice(cq.LEVELS), default="sector", show_default=True)
@click.option("--to", "end", required=True, type=DATE, help="End of the moderator's window.")
@click.option("--units", "units_file", type=click.Path(dir_okay=False))
@click.option("--preset", "preset_name", default=DEFAULT_PRESET, show_default=True)
@click.option("--assignment", "basis", type=click.Choice(cq.BASES), default="recorded")
@click.option("--census", type=click.Choice(sorted(set(cq.CENSUS.values()))))
@click.option("--draws", type=int, default=1000, show_default=True, help="Poisson resamples.")
@click.option("--seed", type=int, default=20161, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["md", "json", "csv"]), default="md")
def sensitivity_command(
    vintage, level, end, units_file, preset_name, basis, census, draws, seed, fmt
) -> None:
    """Class changes under each pre-declared variant, and each unit's stability."""
    if draws < 1:
        raise InvalidQueryError("--draws must be at least 1")
    chosen = preset(preset_name)
    end_day = _day(end)
    request = cq.CovariateRequest(
        vintage=vintage,
        level=level,
        start=cq.cov.window_start(end_day, chosen.months),
        end=end_day,
        units=read_units(units_file) if units_file else None,
        preset=chosen,
        basis=basis,
        census=census,
    )
    with db.transaction(db.engine()) as conn:
        report = sensitivity(conn, request, draws, seed)
    units = report.pop("units")
    if fmt == "csv":
        buffer = io.StringIO()
        units.to_csv(buffer, index=False, lineterminator="\n")
        click.echo(buffer.getvalue().rstrip("\n"))
    elif fmt == "json":
        report["units"] = json.loads(units.to_json(orient="records"))
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"## Moderator sensitivity: preset {report['preset']} v{report['preset_version']}, "
            f"{report['n_units']} units, window ending {report['to']}"
        )
        click.echo("\n" + _markdown(pd.DataFrame(report["variants"])))
        click.echo("\n" + _markdown(_changes_by_unit(units, report["variants"])))
        near = ", ".join(report["near_cutoff"]) or "none"
        click.echo(
            f"\nNear the cut-off (higher-class probability in {NEAR_BAND[0]}-{NEAR_BAND[1]} over"
            f" {draws} Poisson resamples, seed {seed}): {near}"
        )
