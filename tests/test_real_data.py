"""Known answers from the real Mexico City files, loaded into a real PostGIS."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from compstat.queries import counts as counts_query
from compstat.queries.territory import level_counts
from etl.incidents import load_incidents
from etl.reconcile import reconcile
from etl.ssp_spreadsheet import read_ssp_spreadsheet
from etl.territory import load_territory


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


@pytest.mark.parametrize(
    ("vintage", "expected"),
    [
        ("2016", {"zones": 5, "regions": 15, "sectors": 72, "quadrants": 847}),
        ("2023", {"zones": 5, "regions": 16, "sectors": 72, "quadrants": 847}),
    ],
)
def test_hierarchy_counts(real_db, vintage, expected):
    with real_db.connect() as conn:
        assert level_counts(conn, vintage) == expected


def test_levels_nest_and_populations_add_up(real_db):
    population = scalar(
        real_db,
        "SELECT sum(population) FROM quadrant q JOIN territory_vintage v "
        "ON v.id = q.vintage_id WHERE v.name = '2016'",
    )
    assert population == 8_785_911
    zone_population = scalar(
        real_db,
        "SELECT sum(population) FROM zone z JOIN territory_vintage v "
        "ON v.id = z.vintage_id WHERE v.name = '2023'",
    )
    assert zone_population == 9_118_579
    # every quadrant lies inside its sector's dissolved polygon
    outside = scalar(
        real_db,
        "SELECT count(*) FROM quadrant q JOIN sector s ON s.id = q.sector_id "
        "WHERE NOT ST_Covers(ST_Buffer(s.geom, 1e-9), ST_PointOnSurface(q.geom))",
    )
    assert outside == 0


def test_territory_report_names_what_was_fixed(real_db):
    report = scalar(real_db, "SELECT report FROM territory_vintage WHERE name = '2016'")
    assert report["report"]["lowercase_zone_codes"] == ["P-1.1.6"]
    assert report["report"]["sector_names_normalised"] == {"TAXQUEA": "TAXQUEÑA"}
    assert report["report"]["id_sector_mismatches"] == ["C-1.5.5"]
    assert report["report"]["area_km2"] == pytest.approx(879.4, abs=0.1)
    aliases = scalar(real_db, "SELECT aliases FROM sector WHERE name = 'ABASTO'")
    assert aliases == ["ABASTO-REFORMA"]


def test_crosswalk_shares_sum_to_one(real_db):
    worst = scalar(
        real_db,
        "SELECT max(abs(total - 1)) FROM (SELECT sum(share_of_from) AS total "
        "FROM quadrant_crosswalk c JOIN quadrant q ON q.id = c.from_quadrant_id "
        "JOIN territory_vintage v ON v.id = q.vintage_id WHERE v.name = '2023' "
        "GROUP BY from_quadrant_id) t",
    )
    # 2023 quadrants reach areas no 2016 quadrant covers, so shares may fall short
    assert worst < 1.0
    pairs = scalar(real_db, "SELECT count(*) FROM quadrant_crosswalk")
    assert pairs > 2 * 847


def test_ssp_yearly_totals_equal_official_spreadsheet(real_db, paths):
    sheet = read_ssp_spreadsheet(paths["sheet"])
    for year in (2013, 2014, 2015):
        loaded = scalar(
            real_db,
            "SELECT count(*) FROM incident i JOIN source s ON s.id = i.source_id "
            "WHERE s.code = 'ssp' AND extract(year FROM occurred_date) = :y",
            y=year,
        )
        assert loaded == sheet.yearly_totals[year]
    assert sheet.yearly_totals[2013] == 43_005


def test_reconcile_matches_2013_to_2015(real_db, paths):
    with real_db.connect() as conn:
        by_quadrant, by_year = reconcile(conn, paths["sheet"])
    years = by_year.set_index("year")
    assert list(years.loc[[2013, 2014, 2015], "difference"]) == [0, 0, 0]
    assert years.loc[2013, "official"] == 43_005
    assert by_quadrant["official"].sum() == 124_666
    assert years["partial"].to_dict() == {2013: False, 2014: False, 2015: False, 2016: True}
    assert set(by_quadrant.loc[by_quadrant["partial"], "month"]) == {"2016-06"}


def test_fgj_rows_all_accounted_for(real_db):
    row_counts = scalar(
        real_db,
        "SELECT n_read || '/' || n_loaded || '/' || n_duplicate || '/' || n_quarantined "
        "FROM load_run r JOIN source s ON s.id = r.source_id WHERE s.code = 'fgj'",
    )
    # one row is at longitude -100.23 (a CUAUHTEMOC address): far outside the city
    assert row_counts == "1099353/1099352/0/1"
    quarantined = scalar(
        real_db,
        "SELECT row_number || ' ' || reason FROM quarantine q JOIN source s "
        "ON s.id = q.source_id WHERE s.code = 'fgj'",
    )
    assert quarantined == "427176 coordinates_outside_city"
    per_year = scalar(
        real_db,
        "SELECT count(*) FROM incident WHERE source_id = 2 "
        "AND occurred_date BETWEEN '2021-01-01' AND '2021-12-31'",
    )
    assert per_year == 216_485


def test_every_incident_assigned_in_every_vintage(real_db):
    incidents = scalar(real_db, "SELECT count(*) FROM incident")
    assert incidents == 132_692 + 1_099_352
    for vintage in ("2016", "2023"):
        assigned = scalar(
            real_db,
            "SELECT count(*) FROM assignment a JOIN territory_vintage v "
            "ON v.id = a.vintage_id WHERE v.name = :v",
            v=vintage,
        )
        assert assigned == incidents
    repeated = scalar(
        real_db,
        "SELECT count(*) FROM (SELECT 1 FROM assignment "
        "GROUP BY incident_id, vintage_id HAVING count(*) > 1) t",
    )
    assert repeated == 0


def test_ids_and_source_keys_stay_unique(real_db):
    # no index enforces either (migration 0002): the loader must (keys among live rows, 0010)
    repeated = scalar(
        real_db,
        "SELECT count(*) FROM (SELECT 1 FROM incident WHERE retired_run_id IS NULL "
        "GROUP BY source_id, source_key HAVING count(*) > 1) t",
    )
    assert repeated == 0
    with real_db.connect() as conn:
        ids = conn.execute(text("SELECT count(DISTINCT id), min(id), max(id) FROM incident")).one()
    assert tuple(ids) == (132_692 + 1_099_352, 1, 132_692 + 1_099_352)


def test_each_run_records_its_last_incident_id(real_db):
    # the next load numbers from load_run (migration 0004), so these must agree
    with real_db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.id, r.last_incident_id, m.last FROM load_run r LEFT JOIN "
                "(SELECT load_run_id, max(id) AS last FROM incident GROUP BY 1) m "
                "ON m.load_run_id = r.id WHERE r.kind = 'incidents' AND r.n_loaded > 0 "
                "ORDER BY r.id"
            )
        ).all()
    assert [(last, stored) for _, last, stored in rows] == [
        (132_692, 132_692),
        (132_692 + 1_099_352, 132_692 + 1_099_352),
    ]


def test_fgj_spatial_coverage_of_2023_quadrants(real_db):
    inside = scalar(
        real_db,
        "SELECT avg((a.spatial_quadrant_id IS NOT NULL)::int) FROM assignment a "
        "JOIN incident i ON i.id = a.incident_id JOIN territory_vintage v ON v.id = a.vintage_id "
        "WHERE v.name = '2023' AND i.source_id = 2",
    )
    assert float(inside) == pytest.approx(0.9968, abs=0.0005)


def test_ssp_recorded_assignment_uses_the_source_quadrant(real_db):
    methods = dict(
        real_db.connect()
        .execute(
            text(
                "SELECT a.method::text, count(*) FROM assignment_with_method a JOIN incident i "
                "ON i.id = a.incident_id JOIN territory_vintage v ON v.id = a.vintage_id "
                "WHERE v.name = '2016' AND i.source_id = 1 GROUP BY 1"
            )
        )
        .all()
    )
    unspecified = 1_160
    assert methods["recorded"] == 132_692 - unspecified
    agree = scalar(
        real_db,
        "SELECT avg((a.quadrant_id = a.spatial_quadrant_id)::int) "
        "FROM assignment_with_method a JOIN incident i ON i.id = a.incident_id "
        "WHERE i.source_id = 1 AND a.vintage_id = 1 AND a.recorded "
        "AND a.spatial_quadrant_id IS NOT NULL",
    )
    assert 0.78 < float(agree) < 0.84  # the data README: about 81 % agree


def test_recorded_quadrants_count_only_in_the_sources_vintage(real_db):
    # SSP ids are 2016 codes; the 2023 scheme reuses the same spellings for other polygons
    reused = scalar(
        real_db,
        "SELECT count(*) FROM quadrant a JOIN quadrant b ON a.code = b.code "
        "WHERE a.vintage_id = 1 AND b.vintage_id = 2",
    )
    recorded_2023 = scalar(
        real_db,
        "SELECT count(*) FROM assignment_with_method a JOIN territory_vintage v "
        "ON v.id = a.vintage_id WHERE v.name = '2023' AND a.recorded",
    )
    assert reused > 0
    assert recorded_2023 == 0


@pytest.mark.parametrize("basis", ["recorded", "spatial"])
@pytest.mark.parametrize("vintage", ["2016", "2023"])
def test_levels_sum_to_city_total(real_db, vintage, basis):
    totals = {}
    with real_db.connect() as conn:
        for level in counts_query.LEVELS:
            q = counts_query.CountsQuery(vintage, level, "year", basis=basis)
            frame = counts_query.counts(conn, q)
            totals[level] = frame.groupby("period_start")["count"].sum().to_dict()
    assert all(t == totals["city"] for t in totals.values())
    assert sum(totals["city"].values()) == 132_692 + 1_099_352


def test_counts_filter_and_outside_bucket(real_db):
    with real_db.connect() as conn:
        q = counts_query.CountsQuery(
            "2016", "zone", "year", categories=("homicidio_doloso",), basis="recorded"
        )
        frame = counts_query.counts(conn, q)
    assert set(frame["category"]) == {"homicidio_doloso"}
    assert counts_query.OUTSIDE_ID in set(frame["unit_id"])
    ssp_2013 = frame[frame["period_start"].astype(str) == "2013-01-01"]["count"].sum()
    assert ssp_2013 == scalar(
        real_db,
        "SELECT count(*) FROM incident i JOIN category c ON c.id = i.category_id "
        "WHERE c.code = 'homicidio_doloso' AND occurred_date BETWEEN '2013-01-01' AND '2013-12-31'",
    )


def test_loading_the_same_files_again_changes_nothing(real_db, paths):
    tables = ("incident", "assignment", "daily_count", "quarantine", "quadrant", "offence")
    before = {t: scalar(real_db, f"SELECT count(*) FROM {t}") for t in tables}
    again = load_incidents(real_db, paths["ssp"], "ssp")
    assert (again.loaded, again.duplicates) == (0, 132_692)
    assert again.read == again.loaded + again.duplicates + sum(again.quarantined.values())
    result = load_territory(real_db, paths["q2023"], "2023")
    assert result["already_loaded"] is True
    assert {t: scalar(real_db, f"SELECT count(*) FROM {t}") for t in tables} == before


def test_fact_tables_reference_existing_rows(real_db):
    orphans = scalar(
        real_db,
        "SELECT (SELECT count(*) FROM assignment a LEFT JOIN incident i ON i.id = a.incident_id "
        "WHERE i.id IS NULL) + (SELECT count(*) FROM assignment a LEFT JOIN quadrant q "
        "ON q.id = a.spatial_quadrant_id AND q.vintage_id = a.vintage_id "
        "WHERE a.spatial_quadrant_id IS NOT NULL AND q.id IS NULL) + "
        "(SELECT count(*) FROM incident i LEFT JOIN offence o ON o.id = i.offence_id "
        "WHERE o.id IS NULL) + (SELECT count(*) FROM daily_count d LEFT JOIN quadrant q "
        "ON q.id = d.quadrant_id WHERE d.quadrant_id IS NOT NULL AND q.id IS NULL) + "
        "(SELECT count(*) FROM incident i JOIN offence o ON o.id = i.offence_id "
        "WHERE o.category_id <> i.category_id)",
    )
    assert orphans == 0
    daily = scalar(real_db, "SELECT sum(n_recorded) FROM daily_count WHERE vintage_id = 2")
    assert daily == 132_692 + 1_099_352
