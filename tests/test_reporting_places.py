"""Reporting places: the rule on hand-made points, then the real 2023 FGJ points."""

from __future__ import annotations

import io
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from compstat.cli import build_cli
from compstat.queries.reporting_places import COLUMNS, PlacesQuery, incident_total, places
from compstat.stats.reporting_places import (
    PlaceRule,
    cell_keys,
    cell_positions,
    cell_profile,
    flag_places,
    in_cells,
    reporting_places,
)

RULE = PlaceRule(cell_size=100.0, min_per_year=10, min_offences=3, min_categories=2)


def _cell(x0: float, y0: float, offences: list[int], categories: list[int], desk: list[bool]):
    """Points spread inside the 100 m cell whose south-west corner is (x0, y0)."""
    n = len(offences)
    x = x0 + np.linspace(1, 99, n)
    y = y0 + np.linspace(99, 1, n)
    return x, y, np.array(offences), np.array(categories), np.array(desk)


def _points():
    office = _cell(
        500_000, 2_100_000, [1] * 6 + [2, 3, 4, 5], [1] * 6 + [2, 2, 3, 3], [True] * 8 + [False] * 2
    )
    street = _cell(
        500_100, 2_100_000, [7] * 6 + [8, 9, 10, 11], [4] * 6 + [5, 5, 6, 6], [False] * 10
    )
    one_desk = _cell(500_200, 2_100_000, [1] * 10, [1] * 10, [True] * 10)
    few = _cell(500_300, 2_100_000, [1, 2, 3], [1, 2, 3], [True] * 3)
    parts = list(zip(office, street, one_desk, few, strict=True))
    return [np.concatenate(p) for p in parts]


def test_cell_keys_snap_to_the_origin_and_edges_go_east_and_north():
    keys = cell_keys(np.array([0.0, 99.9, 100.0, -0.1]), np.array([0.0, 100.0, 250.0, 5.0]), 100)
    assert keys.tolist() == [[0, 0], [0, 1], [1, 2], [-1, 0]]
    with pytest.raises(ValueError):
        cell_keys(np.zeros(1), np.zeros(1), 0)


def test_profile_counts_types_desk_share_and_diversity():
    x, y, offence, category, desk = _points()
    p = cell_profile(x, y, offence, category, desk, 100)
    assert p.keys.tolist() == [[5000, 21000], [5001, 21000], [5002, 21000], [5003, 21000]]
    assert p.count.tolist() == [10, 10, 10, 3]
    assert p.offences.tolist() == [5, 5, 1, 3]
    assert p.categories.tolist() == [3, 3, 1, 3]
    assert p.desk_share.tolist() == [0.8, 0.0, 1.0, 1.0]
    assert p.top_share.tolist() == [0.6, 0.6, 1.0, pytest.approx(1 / 3)]
    # entropy of (0.6, 0.1 x 4): exp(-0.6 ln 0.6 - 0.4 ln 0.1)
    expected = np.exp(-0.6 * np.log(0.6) - 0.4 * np.log(0.1))
    assert p.effective_offences[0] == pytest.approx(expected)
    assert p.effective_offences[2] == pytest.approx(1.0)
    assert p.effective_offences[3] == pytest.approx(3.0)
    np.testing.assert_allclose(p.centres(100)[0], [500_050, 2_100_050])


def test_only_the_busy_diverse_desk_cell_is_a_place():
    x, y, offence, category, desk = _points()
    # the street cell has no desk offences, the one-desk cell one offence type, the last too few
    assert flag_places(cell_profile(x, y, offence, category, desk, 100), RULE, 365).tolist() == [
        True,
        False,
        False,
        False,
    ]
    places = reporting_places(x, y, offence, category, desk, 365, RULE)
    assert places.keys.tolist() == [[5000, 21000]]
    assert places.count.tolist() == [10]


def test_thresholds_are_inclusive_and_the_count_scales_with_the_span():
    x, y, offence, category, desk = _points()
    assert len(reporting_places(x, y, offence, category, desk, 365, RULE).count) == 1
    # 10 incidents a year: half a year needs 5, so the 10-incident cells pass; two years need 20
    assert RULE.min_count(182) == 5
    assert RULE.min_count(730) == 20
    assert len(reporting_places(x, y, offence, category, desk, 730, RULE).count) == 0
    stricter = PlaceRule(min_per_year=10, min_offences=3, min_categories=2, min_desk_share=0.81)
    assert len(reporting_places(x, y, offence, category, desk, 365, stricter).count) == 0
    assert PlaceRule().min_count(365) == 100
    assert PlaceRule().min_count(1) == 1


def test_places_are_sorted_busiest_first():
    x, y, offence, category, desk = _points()
    extra = _cell(500_000, 2_100_500, [1] * 9 + [2, 3, 4], [1] * 9 + [2, 2, 3], [True] * 12)
    x, y, offence, category, desk = (
        np.concatenate(p) for p in zip((x, y, offence, category, desk), extra, strict=True)
    )
    places = reporting_places(x, y, offence, category, desk, 365, RULE)
    assert places.keys.tolist() == [[5000, 21005], [5000, 21000]]
    assert places.count.tolist() == [12, 10]


def test_in_cells_marks_the_points_of_the_places():
    x = np.array([500_010.0, 500_110.0, 500_099.9, 0.0])
    y = np.array([2_100_010.0, 2_100_010.0, 2_100_099.9, 0.0])
    assert in_cells(x, y, np.array([[5000, 21000]]), 100).tolist() == [True, False, True, False]
    assert in_cells(x, y, np.empty((0, 2), np.int64), 100).tolist() == [False] * 4


# -- the real FGJ points, 2023 -----------------------------------------------------------

YEAR_2023 = PlacesQuery("2023", date(2023, 1, 1), date(2023, 12, 31))


def test_the_doctores_prosecutors_block_leads_the_2023_places(real_db):
    with real_db.connect() as conn:
        frame = places(conn, YEAR_2023)
        total = incident_total(conn, YEAR_2023)
    assert len(frame) == 27 and total == 223_475
    assert int(frame["count"].sum()) == 5_081
    first = frame.iloc[0]
    assert (first["lon"], first["lat"]) == pytest.approx((-99.15003, 19.42129), abs=1e-5)
    assert (first["quadrant"], first["sector"], first["sector_name"]) == (
        "C-1.3.17",
        "C-1.3",
        "ASTURIAS",
    )
    assert (first["count"], first["offences"], first["categories"]) == (647, 33, 10)
    assert first["kind"] == "office" and first["label_es"].startswith("Doctores")
    assert first["top_offences"][0] == {"offence": "FRAUDE", "count": 440}
    doctores = frame[frame["label_es"].str.startswith("Doctores")]
    assert doctores["count"].tolist() == [647, 159, 134]
    assert frame["kind"].value_counts().to_dict() == {"store": 19, "office": 8}
    assert (frame["desk_share"] >= 0.5).all() and (frame["count"] >= 100).all()


def test_places_command_lists_the_places(real_db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", real_db.url.render_as_string(hide_password=False))
    args = ["hotspots", "places", "--vintage", "2023", "--from", "2023-01-01", "--to", "2023-12-31"]
    text_out = CliRunner().invoke(build_cli(), args, catch_exceptions=False)
    assert text_out.exit_code == 0, text_out.output
    assert "27 places, 5,081 of 223,475 located incidents (2.3 %)" in text_out.stdout
    assert "Doctores: fiscalías y juzgados (ASTURIAS): FRAUDE (440)" in text_out.stdout
    as_json = CliRunner().invoke(build_cli(), [*args, "--format", "json"])
    report = json.loads(as_json.stdout)
    assert report["rule"]["min_count"] == 100 and len(report["places"]) == 27
    assert report["places"][0]["count"] == 647
    as_csv = CliRunner().invoke(build_cli(), [*args, "--format", "csv"])
    frame = pd.read_csv(io.StringIO(as_csv.stdout))
    assert list(frame.columns) == COLUMNS and frame["count"].iloc[0] == 647
    assert frame["top_offences"].iloc[0].startswith("FRAUDE (440); ")


def test_evaluation_can_leave_the_places_out(real_db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", real_db.url.render_as_string(hide_password=False))
    args = [
        *("hotspots", "evaluate", "--vintage", "2023", "--from", "2023-01-02"),
        *("--to", "2023-01-29", "--group", "all", "--method", "grid", "--format", "json"),
    ]
    kept = json.loads(CliRunner().invoke(build_cli(), args, catch_exceptions=False).stdout)
    left_out = CliRunner().invoke(build_cli(), [*args, "--exclude-reporting-places"])
    report = json.loads(left_out.stdout)
    # the 23 places of 2022-01-02 to 2023-01-01, and every incident in their cells since 2019
    assert kept["excluded"] == {} and report["excluded"] == {"places": 23, "incidents": 13_830}
    assert report["parameters"]["exclude_reporting_places"] is True
    assert [w["test_crimes"] for w in (kept["windows"][0], report["windows"][0])] == [
        16_758,
        16_433,
    ]
    md = CliRunner().invoke(build_cli(), [*args[:-2], "--exclude-reporting-places"]).stdout
    assert "Reporting places excluded: 23 places found from 2022-01-02 to 2023-01-01" in md


def test_cell_positions_name_each_points_place():
    x = np.array([500_010.0, 500_110.0, 500_099.9, 0.0, 500_150.0])
    y = np.array([2_100_010.0, 2_100_010.0, 2_100_099.9, 0.0, 2_100_050.0])
    keys = np.array([[5001, 21000], [5000, 21000]])
    assert cell_positions(x, y, keys, 100).tolist() == [1, 0, 1, -1, 0]
