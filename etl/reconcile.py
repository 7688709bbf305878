"""Compare the official SSP monthly spreadsheet with the loaded SSP points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection

from compstat.queries.reconcile import UNSPECIFIED, ssp_monthly
from etl.ssp_spreadsheet import read_ssp_spreadsheet

#: The spreadsheet's spelling of "no quadrant".
BLANK = "(en blanco)"


@dataclass(frozen=True, eq=False)
class Reconciliation:
    """The official reply compared with the loaded points.

    Attributes
    ----------
    by_quadrant : pandas.DataFrame
        ``quadrant, month, official, loaded, difference, partial`` (difference is loaded
        minus official), for every quadrant-month where either side is non-zero.
    by_month : pandas.DataFrame
        ``month, official, loaded, difference, partial``, every month the reply covers.
    by_year : pandas.DataFrame
        ``year, official, loaded, difference, partial``; a year is partial when one of
        its months is.
    extracted : date or None
        The day the reply was drawn up, from the workbook's properties.
    partial_months : list of str
        The months (``YYYY-MM``) the reply covers only in part: those ending on or after
        ``extracted``, or the last month when the reply carries no date. Their official
        counts are short by construction, so their differences are not discrepancies.
    """

    by_quadrant: pd.DataFrame
    by_month: pd.DataFrame
    by_year: pd.DataFrame
    extracted: date | None
    partial_months: list[str]


def partial_months(months: list[str], extracted: date | None) -> list[str]:
    """Return the months (``YYYY-MM``) a reply drawn up on ``extracted`` covers in part.

    A month is covered in full only when the reply was drawn up after its last day.
    Without a date the last month cannot be shown complete, so it is counted partial.
    """
    if not months:
        return []
    if extracted is None:
        return [max(months)]
    ends = pd.PeriodIndex(months, freq="M").end_time.date
    return [m for m, end in zip(months, ends, strict=True) if end >= extracted]


def reconcile_report(conn: Connection, path: str | Path) -> Reconciliation:
    """Compare the reply at ``path`` with the loaded SSP points, month by month.

    Only months the spreadsheet covers are compared (it ends in 2016-06, which it covers
    only in part: the reply was drawn up on 2016-06-21).
    """
    sheet = read_ssp_spreadsheet(path)
    official = sheet.counts.assign(
        quadrant=sheet.counts["quadrant"].replace({BLANK: UNSPECIFIED}).astype(object)
    )
    loaded = ssp_monthly(conn)
    loaded = loaded[loaded["month"].between(official["month"].min(), official["month"].max())]
    keys = ["quadrant", "month"]
    merged = (
        pd.merge(
            official.groupby(keys)["count"].sum().rename("official"),
            loaded.groupby(keys)["count"].sum().rename("loaded"),
            left_index=True,
            right_index=True,
            how="outer",
        )
        .fillna(0)
        .astype("int64")
        .reset_index()
    )
    merged["difference"] = merged["loaded"] - merged["official"]
    merged["month"] = merged["month"].dt.strftime("%Y-%m")
    months = sorted(set(official["month"].dt.strftime("%Y-%m")))
    partial = partial_months(months, sheet.extracted)
    merged["partial"] = merged["month"].isin(partial)
    by_month = _totals(merged, merged["month"], "month").set_index("month")
    by_month = by_month.reindex(months, fill_value=0).rename_axis("month").reset_index()
    by_month["partial"] = by_month["month"].isin(partial)
    years = merged["month"].str[:4].astype(int)
    by_year = _totals(merged, years, "year")
    by_year["partial"] = by_year["year"].isin({int(m[:4]) for m in partial})
    by_quadrant = merged.sort_values(keys).reset_index(drop=True)
    return Reconciliation(by_quadrant, by_month, by_year, sheet.extracted, partial)


def _totals(merged: pd.DataFrame, key: pd.Series, name: str) -> pd.DataFrame:
    totals = merged.groupby(key.rename(name))[["official", "loaded"]].sum()
    totals["difference"] = totals["loaded"] - totals["official"]
    return totals.reset_index()


def reconcile(conn: Connection, path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the per-quadrant-month and per-year tables of :func:`reconcile_report`."""
    report = reconcile_report(conn, path)
    return report.by_quadrant, report.by_year
