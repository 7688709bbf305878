"""Reading and checking the trial's input files (assignment, outcomes, covariates).

Every problem is an :class:`~compstat.errors.InputFileError` whose message starts with
the file's name and, where one row is at fault, its line (CSV: the header is line 1)
or row (Parquet: the first row is row 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from compstat.errors import InputFileError

ARM_CODES = {"1": 1, "0": 0, "treatment": 1, "control": 0, "tratamiento": 1}
TRUE_TEXTS = {"true", "1", "yes", "sí", "si"}
SKIPPED_COVARIATES = {"unit_id", "illustrative"}


@dataclass(frozen=True)
class Table:
    """A data frame read from ``path``; CSV cells are kept as text until checked."""

    frame: pd.DataFrame
    path: str
    rows: np.ndarray | None = None  # position of each row in the file, when a subset

    @property
    def is_csv(self) -> bool:
        """Whether the file is a CSV (lines are counted from its header)."""
        return not self.path.lower().endswith(".parquet")

    def where(self, position: int) -> str:
        """Name the line (CSV) or row (Parquet) of the ``position``-th data row."""
        if self.rows is not None:
            position = int(self.rows[position])
        return f"line {position + 2}" if self.is_csv else f"row {position + 1}"

    def fail(self, reason: str, position: int | None = None) -> InputFileError:
        """Return the error for ``reason``, naming the file and the row if given."""
        where = "" if position is None else f"{self.where(position)}: "
        return InputFileError(f"{self.path}: {where}{reason}")

    def require(self, *columns: str) -> None:
        """Raise unless every column is present."""
        missing = [column for column in columns if column not in self.frame.columns]
        if missing:
            raise self.fail(f"missing column(s) {', '.join(missing)}")

    def text(self, column: str) -> pd.Series:
        """Return a column as stripped text; an empty cell is an error."""
        values = self.frame[column].astype("string").str.strip()
        empty = values.isna() | (values == "")
        if empty.any():
            raise self.fail(f"{column} is empty", int(np.argmax(empty.to_numpy())))
        return values.astype(str)

    def numbers(self, column: str) -> pd.Series:
        """Return a column as floats; a missing or non-numeric cell is an error."""
        raw = self.frame[column]
        values = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce").astype(float)
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            position = int(np.argmax(bad))
            raise self.fail(f"{column} {raw.iloc[position]!r} is not a number", position)
        return values

    def is_numeric(self, column: str) -> bool:
        """Whether every non-empty cell of the column reads as a number."""
        values = self.frame[column].astype("string").str.strip()
        filled = values[values.notna() & (values != "")]
        return bool(len(filled)) and bool(pd.to_numeric(filled, errors="coerce").notna().all())

    def illustrative(self) -> bool:
        """Whether the file marks its rows as illustrative (an ``illustrative`` column)."""
        if "illustrative" not in self.frame.columns:
            return False
        flags = self.frame["illustrative"].astype("string").str.strip().str.lower()
        return bool(flags.isin(TRUE_TEXTS).any())


def read_table(path: str | Path) -> Table:
    """Read a CSV (text cells) or Parquet file; an unreadable or empty file is an error."""
    name = str(path)
    if not Path(name).is_file():
        raise InputFileError(f"{name}: no such file")
    try:
        if name.lower().endswith(".parquet"):
            frame = pd.read_parquet(name)
        else:
            frame = pd.read_csv(name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{name}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"{name}: cannot be read ({reason})") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    if frame.empty:
        raise InputFileError(f"{name}: the file has no data rows")
    return Table(frame.reset_index(drop=True), name)


@dataclass(frozen=True)
class Assignment:
    """Arms and strata of the randomized sectors, in file order."""

    sectors: np.ndarray
    arms: np.ndarray
    strata: np.ndarray
    illustrative: bool


def read_assignment(path: str | Path) -> Assignment:
    """Read ``sector``, ``arm`` (1/0, treatment/control, tratamiento/control), ``stratum``.

    Without a ``stratum`` column all sectors form one stratum.
    """
    table = read_table(path)
    table.require("sector", "arm")
    sectors = table.text("sector")
    _no_duplicates(table, sectors, "sector")
    codes = table.text("arm").str.lower().str.replace(r"\.0$", "", regex=True)
    arms = codes.map(ARM_CODES)
    if arms.isna().any():
        position = int(np.argmax(arms.isna().to_numpy()))
        raise table.fail(
            f"arm {codes.iloc[position]!r} is not 1/0, treatment/control or tratamiento/control",
            position,
        )
    if arms.nunique() < 2:
        raise table.fail("every sector is in the same arm")
    has_strata = "stratum" in table.frame.columns
    strata = table.text("stratum") if has_strata else pd.Series(["all"] * len(sectors))
    return Assignment(
        sectors.to_numpy(), arms.to_numpy(dtype=np.int8), strata.to_numpy(), table.illustrative()
    )


def _no_duplicates(table: Table, values: pd.Series, column: str) -> None:
    duplicated = values.duplicated()
    if duplicated.any():
        position = int(np.argmax(duplicated.to_numpy()))
        raise table.fail(f"{column} {values.iloc[position]!r} appears twice", position)


def read_covariates(path: str | Path, assignment: Assignment, assignment_path: str) -> Table:
    """Read the covariates, one row per ``unit_id``, restricted to the assigned sectors.

    ``higher_crime`` must be 0 or 1 for every assigned sector (other rows, e.g. the
    units a covariate export leaves out of its comparison set, may leave it empty),
    and every assigned sector needs a row.
    """
    table = read_table(path)
    table.require("unit_id", "higher_crime")
    units = table.text("unit_id")
    _no_duplicates(table, units, "unit_id")
    missing = sorted(set(assignment.sectors) - set(units))
    if missing:
        raise table.fail(
            f"no row for sector(s) {', '.join(missing[:5])} of {assignment_path}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        )
    position = pd.Index(units).get_indexer(assignment.sectors)
    assigned = Table(table.frame.iloc[position].reset_index(drop=True), table.path, position)
    higher = assigned.numbers("higher_crime")
    not_binary = ~higher.isin([0.0, 1.0])
    if not_binary.any():
        at = int(np.argmax(not_binary.to_numpy()))
        raise assigned.fail(f"higher_crime {higher.iloc[at]:g} is not 0 or 1", at)
    return assigned


def covariate_matrix(covariates: Table, columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Numeric covariates for the balance table (rows in assignment order).

    Without ``columns``: every column whose cells all read as numbers, except ``unit_id``,
    ``illustrative`` and the ``moderator_*`` bookkeeping columns; text columns are left
    out. A chosen or numeric column with an empty cell is an error.
    """
    if columns:
        covariates.require(*columns)
        chosen = list(columns)
    else:
        chosen = [
            column
            for column in covariates.frame.columns
            if column not in SKIPPED_COVARIATES
            and not column.startswith("moderator_")
            and covariates.is_numeric(column)
        ]
    if not chosen:
        raise covariates.fail("no numeric covariate columns")
    return pd.DataFrame({column: covariates.numbers(column) for column in chosen})


@dataclass(frozen=True)
class TrialInputs:
    """Officer-level arrays for :func:`compstat.stats.trial.estimate_interaction`."""

    y: np.ndarray
    higher_crime: np.ndarray
    controls: np.ndarray | None
    unit_of_row: np.ndarray
    arms: np.ndarray
    strata: np.ndarray
    illustrative: bool


def read_outcomes(
    path: str | Path,
    outcome: str,
    controls: tuple[str, ...],
    assignment: Assignment,
    assignment_path: str,
    covariates: Table,
) -> TrialInputs:
    """Join the officers' outcomes to their sector's arm, moderator and controls.

    A control is taken from the outcomes file (officer-level) when it has the column,
    else from the covariates (sector-level).
    """
    table = read_table(path)
    table.require("sector", outcome)
    sectors = table.text("sector")
    unit_of_row = pd.Index(assignment.sectors).get_indexer(sectors)
    if (unit_of_row < 0).any():
        position = int(np.argmax(unit_of_row < 0))
        raise table.fail(
            f"sector {sectors.iloc[position]!r} is not in the assignment {assignment_path}",
            position,
        )
    columns = [_control(name, table, covariates, unit_of_row) for name in controls]
    higher = covariates.numbers("higher_crime").to_numpy()[unit_of_row]
    return TrialInputs(
        y=table.numbers(outcome).to_numpy(),
        higher_crime=higher,
        controls=np.column_stack(columns) if columns else None,
        unit_of_row=unit_of_row,
        arms=assignment.arms,
        strata=assignment.strata,
        illustrative=assignment.illustrative or table.illustrative() or covariates.illustrative(),
    )


def _control(name: str, outcomes: Table, covariates: Table, unit_of_row: np.ndarray) -> np.ndarray:
    if name in outcomes.frame.columns:
        return outcomes.numbers(name).to_numpy()
    if name in covariates.frame.columns:
        return covariates.numbers(name).to_numpy()[unit_of_row]
    raise outcomes.fail(f"no control column {name!r} (nor in {covariates.path})")
