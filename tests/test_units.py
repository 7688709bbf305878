"""Pure units: parsers, the binary COPY encoder, line hashes and point assignment."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely
from numpy.testing import assert_array_equal
from sqlalchemy import text

from compstat import bulk, pgcopy
from etl import parse
from etl.linehash import hash_lines
from geo.assign import OUTSIDE, PolygonIndex


def test_dates_accept_drifted_formats_and_reject_impossible_ones():
    values = pa.array(["2019-01-05", "2019-02-30", "2019-01-01 12:00:00", "05/03/2020", "", "x"])
    dates, time_part = parse.parse_dates(values)
    assert_array_equal(
        dates.values[[0, 2, 3]].astype(str), ["2019-01-05", "2019-01-01", "2020-03-05"]
    )
    assert_array_equal(dates.bad, [False, True, False, False, False, True])
    assert_array_equal(dates.empty, [False, False, False, False, True, False])
    assert time_part.to_pylist()[2] == "12:00:00"


def test_times_accept_extra_fields_and_blank():
    parsed = parse.parse_times(pa.array(["10:07", "12:00:00:00", "", "25:00", "07:41:59"]))
    assert_array_equal(parsed.values[[0, 1, 4]], [36420, 43200, 27719])
    assert_array_equal(parsed.empty, [False, False, True, False, False])
    assert_array_equal(parsed.bad, [False, False, False, True, False])


def test_numbers_distinguish_missing_from_garbage():
    parsed = parse.parse_numbers(pa.array(["19.5", "NA", "", "19.5x", "-99.1"]))
    assert_array_equal(parsed.empty, [False, True, True, False, False])
    assert_array_equal(parsed.bad, [False, False, False, True, False])
    assert parsed.values[4] == -99.1


def test_line_hash_is_stable_and_content_based():
    raw = b"abc\nabd\nabc\n\n"
    starts, ends = np.array([0, 4, 8, 12]), np.array([3, 7, 11, 12])
    h = hash_lines(raw, starts, ends)
    assert h[0] == h[2] and len({h[0], h[1], h[3]}) == 3
    # a fixed known value guards against accidental changes of the function
    assert int(h[0]) == 1546953198402762389


def reference_line_hash(line: bytes) -> int:
    """The hash's definition, one line at a time in plain Python."""
    mask = (1 << 64) - 1

    def mix(h: int) -> int:
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & mask
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & mask
        return h ^ (h >> 31)

    h = len(line) ^ 0x2545F4914F6CDD1D
    for at in range(0, len(line), 8):
        word = int.from_bytes(line[at : at + 8], "little")
        h = mix((h * 0x9E3779B97F4A7C15 + word) & mask)
    h = mix(h)
    return h - (1 << 64) if h >> 63 else h


def test_line_hash_matches_its_definition_at_every_length_and_offset():
    rng = np.random.default_rng(7)
    lines = [bytes(rng.integers(32, 127, n, dtype=np.uint8)) for n in rng.integers(0, 60, 300)]
    raw = b"\n".join(lines) + b"\n"
    lengths = np.array([len(x) for x in lines])
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    got = hash_lines(raw, starts, starts + lengths)
    assert got.tolist() == [reference_line_hash(x) for x in lines]


def test_assignment_lowest_id_wins_on_shared_edge_and_outside():
    left = shapely.box(0, 0, 1, 1)
    right = shapely.box(1, 0, 2, 1)
    index = PolygonIndex(np.array([right, left]), np.array([7, 3]))
    got = index.assign(np.array([0.5, 1.0, 1.5, 5.0, np.nan]), np.array([0.5, 0.5, 0.5, 5, 0]))
    assert_array_equal(got, [3, 3, 7, OUTSIDE, OUTSIDE])


def test_binary_copy_round_trip(territory_db):
    n = 5
    fields = [
        pgcopy.fixed(np.arange(n), ">i8"),
        pgcopy.dates(np.array(["2020-02-29"] * n, "datetime64[D]")),
        pgcopy.times(np.array([0, 1, 3600, 86399, 5]), np.array([1, 1, 1, 1, 0], bool)),
        pgcopy.texts(["a", None, "ñandú", "", "xyz"]),
        pgcopy.points(np.full(n, -99.1), np.full(n, 19.4), 4326, np.array([1, 0, 1, 1, 1], bool)),
        pgcopy.labels(np.array([0, 1, 1, 0, 2]), ["uno", "dos", None]),
    ]
    with territory_db.begin() as conn:
        conn.execute(
            text(
                "CREATE TEMP TABLE t (i bigint, d date, tm time, s text, "
                "g geometry(Point, 4326), l text)"
            )
        )
        bulk.copy_in(conn, "t", ["i", "d", "tm", "s", "g", "l"], fields)
        rows = conn.execute(
            text("SELECT i, d::text, tm::text, s, ST_AsText(g), l FROM t ORDER BY i")
        ).all()
    assert [tuple(r) for r in rows] == [
        (0, "2020-02-29", "00:00:00", "a", "POINT(-99.1 19.4)", "uno"),
        (1, "2020-02-29", "00:00:01", None, None, "dos"),
        (2, "2020-02-29", "01:00:00", "ñandú", "POINT(-99.1 19.4)", "dos"),
        (3, "2020-02-29", "23:59:59", "", "POINT(-99.1 19.4)", "uno"),
        (4, "2020-02-29", None, "xyz", "POINT(-99.1 19.4)", None),
    ]


def test_binary_copy_of_interleaved_row_shapes(territory_db):
    # more runs of alternating NULLs than pgcopy encodes run by run: rows are grouped
    n = 4 * pgcopy.RUNS_AS_SLICES + 3
    ids = np.arange(n)
    quadrant = np.where(ids % 3 == 0, -1, ids)
    fields = [
        pgcopy.fixed(ids, ">i8"),
        pgcopy.fixed(quadrant, ">i4", quadrant >= 0),
        pgcopy.labels(ids % 2, ["spatial", "recorded"]),
    ]
    assert len(pgcopy._groups(pgcopy._shapes(fields))) == 4
    with territory_db.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE shapes (i bigint, q integer, m text)"))
        bulk.copy_in(conn, "shapes", ["i", "q", "m"], fields)
        rows = conn.execute(text("SELECT i, q, m FROM shapes ORDER BY i")).all()
    expected = [(i, None if i % 3 == 0 else i, ["spatial", "recorded"][i % 2]) for i in range(n)]
    assert [tuple(r) for r in rows] == expected


def test_packed_bigints_round_trip_across_groups(territory_db):
    values = [-(2**63), -1, 0, 1, 2**63 - 1, 42]
    with territory_db.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE k (grp int, v bigint)"))
        conn.execute(
            text("INSERT INTO k VALUES (:g, :v)"),
            [{"g": i % 2, "v": v} for i, v in enumerate(values)],
        )
        got = bulk.fetch_packed_bigints(
            conn,
            "SELECT string_agg(int8send(v), ''::bytea) FROM k WHERE grp >= :lo GROUP BY grp",
            {"lo": 0},
        )
        none = bulk.fetch_packed_bigints(
            conn, "SELECT string_agg(int8send(v), ''::bytea) FROM k WHERE grp > 5 GROUP BY grp"
        )
    assert sorted(got.tolist()) == sorted(values)
    assert got.dtype == np.int64 and len(none) == 0
