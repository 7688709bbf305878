"""Cumulative releases: a later release replaces the earlier one, and earlier figures stay.

Release A is a synthetic FGJ file of early 2021; release B, published later, revises
some of its rows (another offence, another place), withdraws some, adds some and
extends into April. Loaded with ``supersedes`` on top of A, B must give exactly the
counts of B loaded alone into a fresh database, while the counts as known after A's
run still give A's.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pandas.testing import assert_frame_equal
from sqlalchemy import Engine, text

from compstat.cli import build_cli
from compstat.queries import as_of_run
from compstat.queries.accountability import AccountabilityQuery, accountability
from compstat.queries.counts import CountsQuery, counts
from compstat.queries.cube import cube
from etl.incidents import load_incidents
from etl.jobs import read_config
from etl.territory import load_territory
from tests.conftest import drop, fresh_engine

HEADER = (
    "alcaldia_hecho,colonia_key,latitud,longitud,delito,fecha_hecho,hora_hecho,anio_hecho,trimestre"
)
OFFENCES = [
    "ROBO A TRANSEUNTE EN VIA PUBLICA CON VIOLENCIA",
    "ROBO DE VEHICULO DE SERVICIO PARTICULAR SIN VIOLENCIA",
    "HOMICIDIO DOLOSO",
    "FRAUDE",
    "VIOLENCIA FAMILIAR",
    "ROBO A NEGOCIO CON VIOLENCIA",
]
FIRST_DAY = date(2021, 1, 1)
N_ROWS = 60
WITHDRAWN, RECATEGORISED, RELOCATED, TWIN = range(0, 5), range(5, 10), range(10, 15), 15
N_REVISED = len(RECATEGORISED) + len(RELOCATED)
#: A's rows that B no longer carries: withdrawn, revised (old form) and the twin's copy.
N_RETIRED = len(WITHDRAWN) + N_REVISED + 1
N_ADDED = 8
DAILY = """
    SELECT v.name AS vintage, d.day, coalesce(q.code, 'FUERA') AS quadrant,
           c.code AS category, sum(d.n_recorded)::int, sum(d.n_spatial)::int,
           sum(d.n_source)::int
    FROM daily_count d
    JOIN territory_vintage v ON v.id = d.vintage_id
    JOIN category c ON c.id = d.category_id
    LEFT JOIN quadrant q ON q.id = d.quadrant_id
    GROUP BY 1, 2, 3, 4
    HAVING sum(d.n_recorded) <> 0 OR sum(d.n_spatial) <> 0 OR sum(d.n_source) <> 0
    ORDER BY 1, 2, 3, 4
"""
COUNT_QUERIES = {
    f"{level}-{period}-{basis}": CountsQuery("2016", level, period, basis=basis)
    for level, period, basis in [
        ("quadrant", "day", "recorded"),
        ("quadrant", "day", "spatial"),
        ("quadrant", "day", "source"),
        ("sector", "week", "recorded"),
        ("city", "month", "recorded"),
    ]
}
AS_OF = date(2021, 4, 25)


@dataclass(frozen=True)
class Row:
    """One synthetic FGJ complaint."""

    offence: str
    day: date
    hour: int
    lat: float
    lon: float

    def line(self) -> str:
        quarter = (self.day.month - 1) // 3 + 1
        return (
            f"COYOACAN,Centro,{self.lat:.6f},{self.lon:.6f},{self.offence},"
            f"{self.day.isoformat()},{self.hour:02d}:00:00,{self.day.year},{quarter}"
        )


def quadrant_points(engine: Engine) -> list[tuple[float, float]]:
    """A point inside each of 40 quadrants of the 2016 vintage, spread over the city."""
    query = """
        SELECT ST_Y(p), ST_X(p) FROM (
            SELECT ST_PointOnSurface(q.geom) AS p, row_number() OVER (ORDER BY q.code) AS n
            FROM quadrant q JOIN territory_vintage v ON v.id = q.vintage_id AND v.name = '2016'
        ) x WHERE n % 20 = 0 ORDER BY n LIMIT 40
    """
    with engine.connect() as conn:
        return [(float(lat), float(lon)) for lat, lon in conn.execute(text(query))]


def releases(points: list[tuple[float, float]]) -> tuple[list[Row], list[Row]]:
    """Return the lines of release A (January-March) and of the later release B."""
    rng = random.Random(20210401)

    def row(first: date, days: int) -> Row:
        lat, lon = rng.choice(points)
        day = first + timedelta(days=rng.randrange(days))
        return Row(rng.choice(OFFENCES), day, rng.randrange(24), lat, lon)

    a = [row(FIRST_DAY, 90) for _ in range(N_ROWS - 2)]
    # the first and last days of A, in B too: B covers every day A does
    a += [row(FIRST_DAY, 1), replace(row(FIRST_DAY, 1), day=date(2021, 3, 31))]
    b = []
    for i, r in enumerate(a):
        if i in WITHDRAWN:
            continue
        if i in RECATEGORISED:
            r = replace(r, offence=OFFENCES[(OFFENCES.index(r.offence) + 1) % len(OFFENCES)])
        if i in RELOCATED:
            others = [p for p in points if p != (r.lat, r.lon)]
            r = replace(r, lat=others[i][0], lon=others[i][1])
        b.append(r)
    a.insert(TWIN + 1, a[TWIN])  # A carries one complaint twice, B once
    b += [row(FIRST_DAY, 90) for _ in range(N_ADDED // 2)]
    b += [row(date(2021, 4, 1), 30) for _ in range(N_ADDED // 2)]
    return a, b


def write(path: Path, rows: list[Row]) -> Path:
    body = "\n".join([HEADER, *(r.line() for r in rows)]) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(body.encode()))
    else:
        path.write_text(body, encoding="utf-8")
    return path


def daily(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(text(DAILY)).all()
    columns = ["vintage", "day", "quadrant", "category", "n_recorded", "n_spatial", "n_source"]
    return pd.DataFrame(rows, columns=columns)


def count_frames(engine: Engine, as_of: int | None = None) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {
            name: counts(conn, replace(q, as_of_run=as_of)) for name, q in COUNT_QUERIES.items()
        }


def cube_counts(engine: Engine) -> pd.DataFrame:
    """The cube's rows summed by day, quadrant and category (keys all zero left out)."""
    with engine.connect() as conn:
        c = cube(conn, "2016")
    keys = {"day": c.day, "quadrant": c.quadrant, "category": c.category}
    frame = pd.DataFrame({**keys, **{k: np.asarray(v) for k, v in c.counts.items()}})
    summed = frame.groupby(["day", "quadrant", "category"], as_index=False).sum()
    bases = list(c.counts)
    return summed[(summed[bases] != 0).any(axis=1)].reset_index(drop=True)


def weekly_table(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        query = AccountabilityQuery("2016", "sector", AS_OF, groups=("alto_impacto", "all"))
        return accountability(conn, query).rows.reset_index(drop=True)


def state(engine: Engine) -> dict:
    """Everything the read side shows: daily_count, counts, the cube and the weekly table."""
    return {
        "daily": daily(engine),
        "counts": count_frames(engine),
        "cube": cube_counts(engine),
        "weekly": weekly_table(engine),
    }


def assert_same_state(got: dict, expected: dict) -> None:
    assert_frame_equal(got["daily"], expected["daily"])
    for name, frame in expected["counts"].items():
        assert_frame_equal(got["counts"][name], frame, obj=name)
    assert_frame_equal(got["cube"], expected["cube"])
    assert_frame_equal(got["weekly"], expected["weekly"])


@dataclass
class Scenario:
    a_path: Path
    b_path: Path
    b_rows: list[Row]
    run_a: int
    after_a: dict
    summary_b: object
    stacked: Engine
    alone: Engine
    alone_state: dict


@pytest.fixture(scope="module")
def scenario(territory_db, paths, tmp_path_factory) -> Scenario:
    """A then B (superseding) in ``territory_db``; B alone in a fresh database."""
    folder = tmp_path_factory.mktemp("releases")
    a_rows, b_rows = releases(quadrant_points(territory_db))
    a_path = write(folder / "fgj_2021-04-01.csv.gz", a_rows)
    b_path = write(folder / "fgj_2021-05-01.csv.gz", b_rows)
    first = load_incidents(territory_db, a_path, "fgj", supersedes=True)
    assert (first.loaded, first.retired) == (N_ROWS + 1, 0)
    after_a = {"daily": daily(territory_db), "counts": count_frames(territory_db)}
    summary_b = load_incidents(territory_db, b_path, "fgj", supersedes=True)
    alone = fresh_engine("compstat_test_release_alone")
    load_territory(alone, paths["q2016"], "2016", paths["pop2016"])
    assert load_incidents(alone, b_path, "fgj").loaded == len(b_rows)
    yield Scenario(
        a_path, b_path, b_rows, first.run_id, after_a, summary_b, territory_db, alone, state(alone)
    )
    drop(alone)


def test_the_later_release_retires_withdrawn_and_revised_rows(scenario):
    s = scenario.summary_b
    assert (s.read, s.loaded, s.duplicates, s.retired) == (
        len(scenario.b_rows),
        N_REVISED + N_ADDED,
        N_ROWS - len(WITHDRAWN) - N_REVISED,
        N_RETIRED,
    )
    assert s.as_json()["retired"] == N_RETIRED
    assert any("2021-01-01..2021-04-" in note for note in s.notes)
    query = (
        "SELECT count(*), count(*) FILTER (WHERE retired_run_id = :run), "
        "count(*) FILTER (WHERE retired_run_id IS NULL AND load_run_id = :a) FROM incident"
    )
    with scenario.stacked.connect() as conn:
        stored = conn.execute(text(query), {"run": s.run_id, "a": scenario.run_a}).one()
    kept = N_ROWS - len(WITHDRAWN) - N_REVISED
    assert tuple(stored) == (N_ROWS + 1 + N_REVISED + N_ADDED, N_RETIRED, kept)


def test_counts_equal_those_of_the_later_release_alone(scenario):
    got = state(scenario.stacked)
    assert_same_state(got, scenario.alone_state)
    city = got["counts"]["city-month-recorded"]
    assert city["count"].sum() == len(scenario.b_rows)


def test_counts_as_of_the_earlier_run_equal_the_earlier_release(scenario):
    engine, run_a = scenario.stacked, scenario.run_a
    for name, frame in count_frames(engine, as_of=run_a).items():
        assert_frame_equal(frame, scenario.after_a["counts"][name], obj=name)
    with engine.connect() as conn:
        known_a = as_of_run.daily_counts(conn, "2016", run_a)
        known_b = as_of_run.daily_counts(conn, "2016", scenario.summary_b.run_id)
    for known, expected in ((known_a, scenario.after_a["daily"]), (known_b, daily(engine))):
        assert_frame_equal(ordered(known), ordered(expected), check_dtype=False)
    assert known_a["n_recorded"].sum() == N_ROWS + 1


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    columns = ["quadrant", "category", "day", "n_recorded", "n_spatial", "n_source"]
    return frame.sort_values(["day", "quadrant", "category"])[columns].reset_index(drop=True)


def test_counts_cli_as_of_run(scenario, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", scenario.stacked.url.render_as_string(hide_password=False))
    cli = build_cli()
    args = ["counts", "--vintage", "2016", "--period", "day", "--format", "json"]
    result = CliRunner().invoke(cli, [*args, "--as-of-run", str(scenario.run_a)])
    assert result.exit_code == 0, result.stderr
    got = pd.DataFrame(json.loads(result.stdout)["rows"])
    expected = scenario.after_a["counts"]["quadrant-day-recorded"]
    assert got["count"].tolist() == expected["count"].tolist()
    assert got["unit_id"].tolist() == expected["unit_id"].tolist()
    missing = CliRunner().invoke(cli, [*args, "--as-of-run", "9999"])
    assert missing.exit_code == 1
    assert missing.stderr == "error: load run 9999 does not exist (see load_run)\n"


def test_loading_the_later_release_again_adds_nothing(scenario, tmp_path):
    engine = scenario.stacked
    before = state(engine)
    again = load_incidents(engine, scenario.b_path, "fgj", supersedes=True)
    assert again.skipped and (again.loaded, again.retired) == (0, 0)
    same_rows = write(tmp_path / "fgj_2021-05-01.csv", scenario.b_rows)
    copy = load_incidents(engine, same_rows, "fgj", supersedes=True)
    assert not copy.skipped
    assert (copy.loaded, copy.duplicates, copy.retired) == (0, len(scenario.b_rows), 0)
    assert_same_state(state(engine), before)


def test_an_incremental_load_of_overlapping_releases_double_counts_revised_rows(scenario):
    """Without ``supersedes`` a release only adds rows: revised rows count in both forms."""
    engine = scenario.alone
    summary = load_incidents(engine, scenario.a_path, "fgj")
    assert (summary.loaded, summary.retired) == (N_RETIRED, 0)
    with engine.connect() as conn:
        total = counts(conn, COUNT_QUERIES["city-month-recorded"])["count"].sum()
    assert total == len(scenario.b_rows) + N_RETIRED


def test_a_release_covering_fewer_days_retires_only_within_them(scenario, tmp_path):
    """A release of March alone, short of one row, retires that row and nothing else."""
    engine = scenario.stacked
    march = sorted((r for r in scenario.b_rows if r.day.month == 3), key=lambda r: r.day)
    gone = march[len(march) // 2]
    kept = [r for r in march if r is not gone]
    before = daily(engine)
    summary = load_incidents(engine, write(tmp_path / "march.csv.gz", kept), "fgj", supersedes=True)
    assert (summary.loaded, summary.retired) == (0, 1)
    after = daily(engine)
    outside_march = [d.month != 3 for d in before["day"]]
    assert_frame_equal(
        after[[d.month != 3 for d in after["day"]]].reset_index(drop=True),
        before[outside_march].reset_index(drop=True),
    )
    assert after["n_recorded"].sum() == before["n_recorded"].sum() - 1
    day_total = after[after["day"] == gone.day]["n_recorded"].sum()
    assert day_total == sum(r.day == gone.day for r in kept)


def test_retired_rows_are_left_out_when_a_vintage_is_loaded_later(scenario, paths):
    """Releases loaded before any territory: placing them later counts only live rows."""
    engine = fresh_engine("compstat_test_release_late_territory")
    try:
        load_incidents(engine, scenario.a_path, "fgj", supersedes=True)
        summary = load_incidents(engine, scenario.b_path, "fgj", supersedes=True)
        assert summary.retired == N_RETIRED
        load_territory(engine, paths["q2016"], "2016", paths["pop2016"])
        assert_frame_equal(daily(engine), scenario.alone_state["daily"])
        with engine.connect() as conn:
            known_a = as_of_run.daily_counts(conn, "2016", summary.run_id - 1)
        assert known_a["n_recorded"].sum() == N_ROWS + 1
    finally:
        drop(engine)


SSP_HEADER = '"cuadrante","crime","date","hour","year","month","lat","long","id"'
SSP_ROWS = [
    '"P-1.4.8","ROBO A TRANSEUNTE C.V.",2015-01-01,"10:07",2015,1,19.3272,-99.2103,900001',
    '"P-1.2.7","HOMICIDIO DOLOSO",2015-07-04,"01:31",2015,7,19.3790,-99.1961,900002',
]


def test_etl_run_loads_every_configured_file_then_skips_them(tmp_path, monkeypatch):
    engine = fresh_engine("compstat_test_etl_run")
    try:
        data = tmp_path / "data"
        (data / "fgj").mkdir(parents=True)
        (data / "ssp.csv").write_text("\n".join([SSP_HEADER, *SSP_ROWS]) + "\n")
        lines = [Row(OFFENCES[i % 6], date(2021, 2, 1 + i), i, 19.35, -99.16) for i in range(5)]
        write(data / "fgj" / "release_2021-03.csv.gz", lines)
        config = tmp_path / "sources.toml"
        config.write_text(
            'data_dir = "data"\n'
            '[[source]]\nname = "ssp"\npath = "ssp.csv"\nsource = "ssp"\n'
            '[[source]]\nname = "fgj"\npath = "fgj/release_*.csv.gz"\nsource = "fgj"\n'
            'mode = "cumulative"\n'
        )
        monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
        cli = build_cli()

        def run(*args: str):
            return CliRunner().invoke(cli, ["etl", "run", "--config", str(config), *args])

        first = run("--format", "json")
        assert first.exit_code == 0, first.stderr
        rows = pd.read_json(io.StringIO(first.stdout))
        assert rows["status"].tolist() == ["loaded", "loaded"]
        assert rows["loaded"].tolist() == [2, 5]
        assert rows["mode"].tolist() == ["incremental", "cumulative"]
        again = run()
        assert again.exit_code == 0, again.stderr
        table = again.stdout.splitlines()
        assert len(table) == 3 and all(" skipped " in line for line in table[1:])
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM incident")).scalar_one() == 7
        later = write(data / "release_2021-04.csv.gz", lines[:2] + lines[3:])
        loaded = CliRunner().invoke(
            cli, ["incidents", "load", str(later), "--source", "fgj", "--supersedes"]
        )
        assert loaded.exit_code == 0, loaded.stderr
        assert loaded.stdout.splitlines()[:2] == [
            "read 4  loaded 0  duplicates 4  quarantined 0",
            "retired 1",
        ]
        config.write_text(config.read_text().replace("release_*", "missing_*"))
        failed = run()
        assert failed.exit_code == 1
        assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("error: fgj: ")
        assert "no file matches" in failed.stderr
    finally:
        drop(engine)


def test_etl_run_refuses_a_bad_config_in_one_line(tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text('[[source]]\npath = "x.csv"\nsource = "fgj"\nmode = "weekly"\n')
    result = CliRunner().invoke(build_cli(), ["etl", "run", "--config", str(config)])
    assert result.exit_code == 1
    expected = "mode 'weekly' is not one of ['incremental', 'cumulative']"
    assert result.stderr == f"error: {config}: source #1: {expected}\n"


SSP_DIVERGING = [
    # recorded P-1.4.8, and the point lies in it
    '"P-1.4.8","ROBO A TRANSEUNTE C.V.",2015-01-01,"10:07",2015,1,19.3272,-99.2103,900001',
    # recorded P-1.2.7, but the point lies in P-1.4.8
    '"P-1.2.7","HOMICIDIO DOLOSO",2015-07-04,"01:31",2015,7,19.3272,-99.2103,900002',
    # a recorded code no 2016 quadrant has: recorded basis spatial, source basis outside
    '"P-9.9.9","VIOLACION",2015-05-04,"12:00",2015,5,19.3272,-99.2103,900003',
    # recorded, without a point
    '"P-1.4.6","ROBO DE VEHICULO AUTOMOTOR S.V.",2016-06-30,"14:54",2016,6,NA,NA,900004',
    # nothing recorded, and the point lies outside every quadrant (north of the city)
    '"","ROBO A NEGOCIO C.V.",2015-03-10,"18:36",2015,3,19.62,-99.10,900005',
]
# daily_count is append-only (retired incidents are appended negated): sum the rows
BASIS_TOTALS = """
    SELECT q.code, sum(n_recorded), sum(n_spatial), sum(n_source)
    FROM daily_count d LEFT JOIN quadrant q ON q.id = d.quadrant_id
    GROUP BY q.code
    HAVING sum(n_recorded) <> 0 OR sum(n_spatial) <> 0 OR sum(n_source) <> 0
    ORDER BY q.code
"""


def test_retiring_takes_each_basis_off_its_own_quadrant(paths, tmp_path):
    """Withdrawn SSP rows whose recorded, spatial and source quadrants differ."""
    engine = fresh_engine("compstat_test_release_bases")
    try:
        load_territory(engine, paths["q2016"], "2016", paths["pop2016"])
        full = tmp_path / "ssp_full.csv"
        full.write_text("\n".join([SSP_HEADER, *SSP_DIVERGING]) + "\n")
        kept = tmp_path / "ssp_kept.csv"
        kept.write_text("\n".join([SSP_HEADER, SSP_DIVERGING[0], SSP_DIVERGING[3]]) + "\n")
        assert load_incidents(engine, full, "ssp").loaded == 5
        summary = load_incidents(engine, kept, "ssp", supersedes=True)
        assert (summary.loaded, summary.duplicates, summary.retired) == (0, 2, 3)
        with engine.connect() as conn:
            totals = [tuple(r) for r in conn.execute(text(BASIS_TOTALS))]
        # P-1.4.8 counts the first row on every basis; the second row's point has no
        # quadrant basis left; P-1.4.6 (no point) is outside on the spatial basis
        assert totals == [("P-1.4.6", 1, 0, 1), ("P-1.4.8", 1, 1, 1), (None, 0, 1, 0)]
        # a later release carries the withdrawn rows again: they are stored anew
        again = tmp_path / "ssp_again.csv"
        again.write_text("\n".join([SSP_HEADER, *reversed(SSP_DIVERGING)]) + "\n")
        back = load_incidents(engine, again, "ssp", supersedes=True)
        assert (back.loaded, back.duplicates, back.retired) == (3, 2, 0)
        with engine.connect() as conn:
            totals = [tuple(r) for r in conn.execute(text(BASIS_TOTALS))]
            known = as_of_run.daily_counts(conn, "2016", summary.run_id)
        full_totals = [
            ("P-1.2.7", 1, 0, 1),
            ("P-1.4.6", 1, 0, 1),
            ("P-1.4.8", 2, 3, 1),
            (None, 1, 2, 2),
        ]
        assert totals == full_totals
        by_quadrant = known.groupby("quadrant")[["n_recorded", "n_spatial", "n_source"]].sum()
        assert by_quadrant.reset_index().values.tolist() == [
            ["FUERA", 0, 1, 0],
            ["P-1.4.6", 1, 0, 1],
            ["P-1.4.8", 1, 1, 1],
        ]
    finally:
        drop(engine)


def test_the_example_config_names_the_demo_files(paths):
    example = Path(__file__).resolve().parents[1] / "sources.example.toml"
    env = {"COMPSTAT_DATA_DIR": str(paths["fgj"].parents[3])}
    configs = {c.name: c for c in read_config(example, env)}
    assert configs["ssp"].files() == [paths["ssp"]] and not configs["ssp"].cumulative
    assert configs["fgj"].files() == [paths["fgj"]] and configs["fgj"].cumulative
