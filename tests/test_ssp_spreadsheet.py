"""Tests for etl.ssp_spreadsheet: synthetic workbooks plus the real SSP reply (4b)."""

from __future__ import annotations

import os
import re
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from compstat.config import data_dir_from
from compstat.errors import InputFileError
from etl.reconcile import partial_months
from etl.ssp_spreadsheet import (
    SSP_CATEGORIES,
    SpreadsheetCounts,
    SpreadsheetError,
    read_ssp_spreadsheet,
)

# ----------------------------------------------------------------------------- synthetic sheets

# Header at row 4 (not 23) and label column A; two months of 2013, one of 2014.
YEAR_ROW = ["CUADRANTE/DELITO", 2013, None, "Total 2013", 2014, "Total 2014", "Total "]
MONTH_ROW = [None, " enero ", "Febrero", None, "ENERO", None, None]
HEADER_ROW = 4


def clean_body() -> list[list[object]]:
    """Body rows of a consistent sheet (starting at Excel row 6)."""
    return [
        ["C-1.1.1", 3, None, 3, 2, 2, 5],  # row 6
        ["Robo de vehiculo s/v", 1, None, 1, 2, 2, 3],  # row 7
        ["Robo a bordo de metro c/v", 2, None, 2, None, None, 2],  # row 8
        ["C-1.1.2", None, None, None, None, None, None],  # row 9, quiet quadrant
        ["(en blanco)", None, 1, 1, None, None, 1],  # row 10
        ["Lesiones por arma de fuego", None, 1, 1, None, None, 1],  # row 11
        ["Total general", 3, 1, 4, 2, 2, 6],  # row 12
    ]


def write_sheet(
    path: Path,
    body: list[list[object]],
    *,
    year_row: list[object] | None = None,
    month_row: list[object] | None = None,
) -> Path:
    """Write a one-sheet workbook named Hoja1 with blank rows above the header."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Hoja1"
    sheet.cell(row=1, column=1, value="Secretaría de Seguridad Pública")  # title noise
    for offset, values in enumerate([year_row or YEAR_ROW, month_row or MONTH_ROW, *body]):
        for col, value in enumerate(values, start=1):
            if value is not None:
                sheet.cell(row=HEADER_ROW + offset, column=col, value=value)
    workbook.save(path)
    workbook.close()
    return path


def expected_clean_counts() -> pd.DataFrame:
    rows = [
        ("C-1.1.1", "ROBO DE VEHICULO AUTOMOTOR S.V.", "2013-01-01", 1),
        ("C-1.1.1", "ROBO DE VEHICULO AUTOMOTOR S.V.", "2014-01-01", 2),
        ("C-1.1.1", "ROBO A BORDO DE METRO C.V.", "2013-01-01", 2),
        ("(en blanco)", "LESIONES POR ARMA DE FUEGO", "2013-02-01", 1),
    ]
    frame = pd.DataFrame(rows, columns=["quadrant", "category", "month", "count"])
    frame["month"] = pd.to_datetime(frame["month"]).astype("datetime64[ns]")
    frame["count"] = frame["count"].astype("int64")
    return frame


def test_clean_sheet_parses_to_the_exact_long_table(tmp_path: Path) -> None:
    result = read_ssp_spreadsheet(write_sheet(tmp_path / "clean.xlsx", clean_body()))

    assert isinstance(result, SpreadsheetCounts)
    pd.testing.assert_frame_equal(result.counts, expected_clean_counts())
    assert result.yearly_totals == {2013: 4, 2014: 2}
    assert result.grand_total == 6


def test_zip_holding_one_xlsx_is_read_in_memory(tmp_path: Path) -> None:
    xlsx = write_sheet(tmp_path / "reply.xlsx", clean_body())
    archive = tmp_path / "solicitud.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(xlsx, "275416.xlsx")
    xlsx.unlink()

    result = read_ssp_spreadsheet(str(archive))

    pd.testing.assert_frame_equal(result.counts, expected_clean_counts())
    assert result.grand_total == 6


def test_quadrant_total_disagreeing_with_its_crimes_names_the_row(tmp_path: Path) -> None:
    body = clean_body()
    body[0][4] = 3  # C-1.1.1 says 3 for 2014-01, its crimes sum to 2
    path = write_sheet(tmp_path / "bad_total.xlsx", body)

    with pytest.raises(SpreadsheetError, match=r"row 6: quadrant 'C-1\.1\.1'.*2014-01") as info:
        read_ssp_spreadsheet(path)

    assert info.value.row == 6
    assert "bad_total.xlsx" in str(info.value)


def test_quiet_quadrant_with_a_nonzero_total_raises(tmp_path: Path) -> None:
    body = clean_body()
    body[3][1] = 1  # C-1.1.2 has no crime rows but claims 1 in 2013-01
    with pytest.raises(SpreadsheetError, match=r"row 9: quadrant 'C-1\.1\.2'"):
        read_ssp_spreadsheet(write_sheet(tmp_path / "quiet.xlsx", body))


@pytest.mark.parametrize("bad", ["x", "1,5", 2.5, -1, True])
def test_non_numeric_cell_raises(tmp_path: Path, bad: object) -> None:
    body = clean_body()
    body[2][1] = bad  # Robo a bordo de metro c/v, 2013-01 (cell B8)
    path = write_sheet(tmp_path / "text.xlsx", body)

    with pytest.raises(SpreadsheetError, match=r"row 8: cell B8 is not a count") as info:
        read_ssp_spreadsheet(path)

    assert info.value.row == 8


def test_missing_header_raises(tmp_path: Path) -> None:
    year_row = ["CUADRANTE", *YEAR_ROW[1:]]
    path = write_sheet(tmp_path / "no_header.xlsx", clean_body(), year_row=year_row)

    with pytest.raises(SpreadsheetError, match=r"no_header\.xlsx: header cell 'CUADRANTE/DELITO'"):
        read_ssp_spreadsheet(path)


def test_crime_row_before_any_quadrant_raises(tmp_path: Path) -> None:
    body = [["Violacion", 1, None, 1, None, None, 1], *clean_body()]
    with pytest.raises(SpreadsheetError, match=r"row 6: crime row 'VIOLACION' comes before"):
        read_ssp_spreadsheet(write_sheet(tmp_path / "orphan.xlsx", body))


def test_unmappable_label_raises(tmp_path: Path) -> None:
    body = clean_body()
    body[1][0] = "Robo de bicicleta"
    with pytest.raises(
        SpreadsheetError, match=r"row 7: unrecognised row label 'Robo de bicicleta'"
    ):
        read_ssp_spreadsheet(write_sheet(tmp_path / "unknown.xlsx", body))


def test_yearly_total_disagreeing_with_parsed_counts_raises(tmp_path: Path) -> None:
    body = clean_body()
    body[-1][3] = 5  # Total general, Total 2013 (the month cells still add up)
    with pytest.raises(SpreadsheetError, match=r"row 12: 'Total general' for year 2013 is 5"):
        read_ssp_spreadsheet(write_sheet(tmp_path / "year.xlsx", body))


def test_missing_total_general_row_raises(tmp_path: Path) -> None:
    with pytest.raises(SpreadsheetError, match="no 'Total general' row"):
        read_ssp_spreadsheet(write_sheet(tmp_path / "no_total.xlsx", clean_body()[:-1]))


def test_unknown_month_name_raises(tmp_path: Path) -> None:
    month_row = [None, "ENERO", "Febr.", None, "ENERO", None, None]
    path = write_sheet(tmp_path / "month.xlsx", clean_body(), month_row=month_row)
    with pytest.raises(SpreadsheetError, match=r"row 5: column C: 'Febr\.' is not a Spanish month"):
        read_ssp_spreadsheet(path)


def test_error_is_a_value_error_and_an_input_file_error(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "no_header.xlsx", clean_body(), year_row=["x"])
    with pytest.raises(ValueError) as info:
        read_ssp_spreadsheet(path)
    assert isinstance(info.value, SpreadsheetError)
    assert isinstance(info.value, InputFileError)


# ----------------------------------------------------------------------------- the real file

SPREADSHEET = Path("cdmx/counts/ssp_cuadrante_monthly_2013_2016/solicitud-2016-06_ssp_275416.zip")
POINT_FILE = Path("cdmx/incidents/ssp_2013_2016/crime-lat-long.csv.zip")


def data_file(relative: Path) -> Path:
    data_dir = data_dir_from(os.environ)
    if data_dir is None or not (data_dir / relative).is_file():
        pytest.fail(f"data file {relative} not available (set COMPSTAT_DATA_DIR)")
    return data_dir / relative


@pytest.fixture(scope="module")
def real() -> SpreadsheetCounts:
    return read_ssp_spreadsheet(data_file(SPREADSHEET))


def cell(counts: pd.DataFrame, quadrant: str, month: str, category: str | None = None) -> int:
    mask = (counts["quadrant"] == quadrant) & (counts["month"] == pd.Timestamp(month))
    if category is not None:
        mask &= counts["category"] == category
    return int(counts.loc[mask, "count"].sum())


@pytest.mark.realdata
def test_real_totals(real: SpreadsheetCounts) -> None:
    assert real.grand_total == 124_666
    assert real.yearly_totals == {2013: 43_005, 2014: 36_312, 2015: 32_611, 2016: 12_738}
    assert int(real.counts["count"].sum()) == 124_666
    by_year = real.counts.groupby(real.counts["month"].dt.year)["count"].sum().to_dict()
    assert by_year == real.yearly_totals


@pytest.mark.realdata
def test_real_shape_and_types(real: SpreadsheetCounts) -> None:
    counts = real.counts
    assert list(counts.columns) == ["quadrant", "category", "month", "count"]
    assert str(counts["count"].dtype) == "int64"
    assert pd.api.types.is_datetime64_any_dtype(counts["month"])
    assert (counts["count"] > 0).all()
    assert (counts["month"].dt.day == 1).all()
    assert counts["month"].min() == pd.Timestamp("2013-01-01")
    assert counts["month"].max() == pd.Timestamp("2016-06-01")
    assert not counts.duplicated(["quadrant", "category", "month"]).any()


@pytest.mark.realdata
def test_real_quadrants(real: SpreadsheetCounts) -> None:
    quadrants = set(real.counts["quadrant"])
    assert len(quadrants) == 848
    assert "(en blanco)" in quadrants
    pattern = re.compile(r"^[CNOPS]-\d+\.\d+\.\d+$")
    assert all(pattern.match(q) for q in quadrants - {"(en blanco)"})


@pytest.mark.realdata
def test_real_cells_checked_by_hand(real: SpreadsheetCounts) -> None:
    counts = real.counts
    # Sheet rows 25-37: C-1.1.1 shows 4 in ENERO 2013 = negocio c/v 2 + transeunte c/v 1 + s/v 1.
    assert cell(counts, "C-1.1.1", "2013-01-01") == 4
    assert cell(counts, "C-1.1.1", "2013-01-01", "ROBO A NEGOCIO C.V.") == 2
    assert cell(counts, "C-1.1.1", "2013-01-01", "ROBO A TRANSEUNTE S.V.") == 1
    # Row 36, "Robo de vehiculo s/v": only cells AQ36 (MARZO 2016) and AS36 (MAYO 2016), 1 each.
    vehicle = counts[
        (counts["quadrant"] == "C-1.1.1")
        & (counts["category"] == "ROBO DE VEHICULO AUTOMOTOR S.V.")
    ]
    assert vehicle["month"].dt.strftime("%Y-%m").tolist() == ["2016-03", "2016-05"]
    assert vehicle["count"].tolist() == [1, 1]
    # The blank quadrant: 22 in ENERO 2013, of which Violacion 7.
    assert cell(counts, "(en blanco)", "2013-01-01") == 22
    assert cell(counts, "(en blanco)", "2013-01-01", "VIOLACION") == 7


@pytest.mark.realdata
def test_real_categories_are_the_point_file_spellings(real: SpreadsheetCounts) -> None:
    assert set(real.counts["category"]) == SSP_CATEGORIES
    point_crimes = pd.read_csv(data_file(POINT_FILE), usecols=["crime"])["crime"]
    assert set(point_crimes.unique()) == SSP_CATEGORIES


@pytest.mark.realdata
def test_real_reply_covers_june_2016_only_in_part(real: SpreadsheetCounts) -> None:
    assert real.extracted == date(2016, 6, 21)
    months = sorted(set(real.counts["month"].dt.strftime("%Y-%m")))
    assert partial_months(months, real.extracted) == ["2016-06"]
