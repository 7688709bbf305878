"""The ``compstat trial`` commands: balance, estimate and illustrative demo data.

Plugged into the ``compstat`` console script through the ``compstat.commands`` entry
points. Bad input ends with one line ``error: FILE: reason`` and exit status 1.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import click
import pandas as pd

from compstat import trial_io
from compstat.errors import InvalidQueryError
from compstat.stats import simulate
from compstat.stats import trial as trial_stats

MIN_DRAWS = 2000
DEFAULT_DRAWS = 9999
ESTIMATE_COLUMNS = [
    "term",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "p_value",
    "wild_p_value",
    "ri_p_value",
]
BALANCE_COLUMNS = [
    "covariate",
    "mean_treatment",
    "mean_control",
    "difference",
    "std_difference",
    "p_value",
    "ri_p_value",
]

FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["json", "csv", "md"]), default="json", show_default=True
)
ASSIGNMENT = click.option(
    "--assignment",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV/Parquet: sector, arm (1/0, treatment/control, tratamiento/control), [stratum].",
)
COVARIATES = click.option(
    "--covariates",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV/Parquet with unit_id, higher_crime (1/0) and covariates (the covariate export).",
)
DRAWS = click.option(
    "--draws",
    type=int,
    default=DEFAULT_DRAWS,
    show_default=True,
    help=f"Randomization-inference and wild-bootstrap draws (at least {MIN_DRAWS}).",
)
SEED = click.option("--seed", type=int, default=20161, show_default=True, help="Random seed.")


def _check_draws(draws: int) -> None:
    if draws < MIN_DRAWS:
        raise InvalidQueryError(f"--draws must be at least {MIN_DRAWS}, not {draws}")


def _clean(value: object) -> object:
    """Replace NaN by None so JSON gets null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _json(data: dict) -> str:
    def scrub(item):
        if isinstance(item, dict):
            return {key: scrub(value) for key, value in item.items()}
        if isinstance(item, list):
            return [scrub(value) for value in item]
        return _clean(item)

    return json.dumps(scrub(data), ensure_ascii=False, indent=2, allow_nan=False)


def _csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().rstrip("\n")


def _cell(value: object) -> str:
    value = _clean(value)
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
    return "\n".join(lines)


@click.group()
def trial() -> None:
    """Trial analysis: balance, the heterogeneity estimate and illustrative demo data."""


@trial.command("balance")
@ASSIGNMENT
@COVARIATES
@click.option(
    "--columns", multiple=True, help="Covariates to compare (default: every numeric one)."
)
@DRAWS
@SEED
@FORMAT
def balance(
    assignment: str, covariates: str, columns: tuple[str, ...], draws: int, seed: int, fmt: str
) -> None:
    """Covariate means by arm, differences and p-values over the assigned sectors."""
    _check_draws(draws)
    arms = trial_io.read_assignment(assignment)
    table = trial_io.read_covariates(covariates, arms, assignment)
    values = trial_io.covariate_matrix(table, _split(columns))
    try:
        rows = trial_stats.balance_table(values, arms.arms, arms.strata, draws=draws, seed=seed)
    except ValueError as exc:
        raise InvalidQueryError(f"{assignment}: {exc}") from None
    illustrative = arms.illustrative or table.illustrative()
    n_treated = int(arms.arms.sum())
    if fmt == "json":
        click.echo(
            _json(
                {
                    "n_sectors": int(arms.arms.size),
                    "n_treatment": n_treated,
                    "n_control": int(arms.arms.size - n_treated),
                    "draws": draws,
                    "seed": seed,
                    "illustrative": illustrative,
                    "covariates": rows.to_dict(orient="records"),
                }
            )
        )
    elif fmt == "csv":
        click.echo(_csv(rows.assign(illustrative=illustrative)))
    else:
        click.echo(
            f"## Balance: {n_treated} treated and {arms.arms.size - n_treated} control sectors"
        )
        if illustrative:
            click.echo(f"\n**{simulate.ILLUSTRATIVE_NOTE}**")
        click.echo("\n" + _markdown(rows[BALANCE_COLUMNS]))
        click.echo(
            f"\np_value: Welch's t-test; ri_p_value: {draws} re-draws of the arms within strata"
            f" (seed {seed}), statistic the difference in means."
        )


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """Accept ``--controls a --controls b`` as well as ``--controls a,b``."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@trial.command("estimate")
@ASSIGNMENT
@click.option(
    "--outcomes",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV/Parquet, one row per officer: sector and outcome columns.",
)
@click.option("--outcome", required=True, help="Outcome column of --outcomes.")
@COVARIATES
@click.option(
    "--controls",
    multiple=True,
    help="Control column (officer-level from --outcomes, else sector-level from --covariates); "
    "repeat or separate with commas.",
)
@DRAWS
@SEED
@click.option(
    "--weights",
    type=click.Choice(list(trial_stats.WEIGHTS)),
    default="rademacher",
    show_default=True,
    help="Wild cluster bootstrap weights.",
)
@FORMAT
def estimate(
    assignment: str,
    outcomes: str,
    outcome: str,
    covariates: str,
    controls: tuple[str, ...],
    draws: int,
    seed: int,
    weights: str,
    fmt: str,
) -> None:
    """OLS of the outcome on treatment, higher_crime and their interaction, by sector."""
    _check_draws(draws)
    arms = trial_io.read_assignment(assignment)
    table = trial_io.read_covariates(covariates, arms, assignment)
    names = _split(controls)
    data = trial_io.read_outcomes(outcomes, outcome, names, arms, assignment, table)
    try:
        result = trial_stats.estimate_interaction(
            data.y,
            data.higher_crime,
            data.controls,
            data.unit_of_row,
            data.arms,
            data.strata,
            draws=draws,
            seed=seed,
            weights=weights,
        )
    except ValueError as exc:
        raise InvalidQueryError(f"{outcomes}: {exc}") from None
    result.update(
        outcome=outcome,
        controls=list(names),
        draws=draws,
        seed=seed,
        weights=weights,
        ci_level=0.95,
        illustrative=data.illustrative,
    )
    _echo_estimate(result, fmt)


def _echo_estimate(result: dict, fmt: str) -> None:
    terms = pd.DataFrame(result["terms"], columns=ESTIMATE_COLUMNS)
    if fmt == "json":
        click.echo(_json(result))
        return
    if fmt == "csv":
        extra = {key: result[key] for key in ("n_obs", "n_clusters", "outcome", "illustrative")}
        click.echo(_csv(terms.assign(**extra)))
        return
    click.echo(
        f"## Trial estimate: {result['outcome']} "
        f"({result['n_obs']} officers in {result['n_clusters']} sectors)"
    )
    if result["illustrative"]:
        click.echo(f"\n**{simulate.ILLUSTRATIVE_NOTE}**")
    click.echo("\n" + _markdown(terms))
    click.echo(
        f"\nControls: {', '.join(result['controls']) or 'none'}. Standard errors CR1 by sector; "
        f"95% intervals and p_value from t with {result['n_clusters'] - 1} df; wild_p_value: "
        f"restricted wild cluster bootstrap ({result['weights']}, {result['draws']} draws); "
        f"ri_p_value: {result['draws']} re-draws of the arms within strata (seed {result['seed']});"
        " the moderator is not randomized, so higher_crime has none."
    )


@trial.command("demo")
@click.option(
    "--sectors",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV/Parquet with unit_id and zone, one row per sector.",
)
@click.option("--out-dir", required=True, type=click.Path(file_okay=False))
@click.option("--n-study", type=int, default=60, show_default=True, help="Study sectors to draw.")
@SEED
def demo(sectors: str, out_dir: str, n_study: int, seed: int) -> None:
    """Write ILLUSTRATIVE assignment, covariates and officer outcomes (simulated)."""
    table = trial_io.read_table(sectors)
    table.require("unit_id", "zone")
    frame = pd.DataFrame({"unit_id": table.text("unit_id"), "zone": table.text("zone")})
    if "in_comparison" in table.frame.columns:
        # A covariate export: draw only sectors its moderator can classify.
        frame = frame[table.numbers("in_comparison").to_numpy() == 1]
    try:
        assignment = simulate.illustrative_assignment(frame, n_study=n_study, seed=seed)
    except ValueError as exc:
        raise InvalidQueryError(f"{sectors}: {exc}") from None
    covariates = simulate.illustrative_covariates(assignment, seed=seed + 1)
    officers = simulate.simulate_officers(
        assignment, covariates.set_index("unit_id")["higher_crime"], seed=seed + 2
    )
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    files = {
        "illustrative_assignment.csv": assignment,
        "illustrative_covariates.csv": covariates,
        "illustrative_officer_outcomes.csv": officers,
    }
    for name, data in files.items():
        data.to_csv(target / name, index=False, lineterminator="\n")
    click.echo(simulate.ILLUSTRATIVE_NOTE)
    click.echo(
        f"{n_study} of {len(frame)} sectors drawn within zones (seed {seed}), "
        f"{int(assignment['arm'].sum())} treated; {len(officers)} simulated officers."
    )
    click.echo("Planted effects: " + json.dumps(simulate.PLANTED_EFFECTS))
    for name in files:
        click.echo(f"wrote {target / name}")
