"""The physical floor: the FGJ rows as plain numeric columns through one binary ``COPY``.

Parsing the file and encoding the ``COPY`` stream happen before the timer; the timer
covers only sending the bytes to an unindexed plain table and committing. Nothing
the real loader must do (checks, keys, placement, indexes, counts) is in it, so
no loader can be faster than this on the same server.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Engine, text

from compstat import bulk, pgcopy

TABLE = "floor_incident"
COLUMNS = ["id", "lat", "lon", "day", "offence"]
DDL = f"""
DROP TABLE IF EXISTS {TABLE};
CREATE TABLE {TABLE} (
    id bigint NOT NULL,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    day date NOT NULL,
    offence smallint NOT NULL
)
"""
TYPES = {
    "latitud": pa.float64(),
    "longitud": pa.float64(),
    "fecha_hecho": pa.string(),
    "delito": pa.string(),
}
#: Bytes handed to ``copy.write`` at a time.
PIECE = 1 << 20


def parse(path: Path) -> dict[str, np.ndarray]:
    """Read the FGJ file into plain numeric arrays (rows lacking a value are dropped)."""
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(include_columns=list(TYPES), column_types=TYPES),
    )
    day = pc.cast(pc.utf8_slice_codeunits(table["fecha_hecho"], 0, 10), pa.date32())
    offence = pc.dictionary_encode(table["delito"]).combine_chunks().indices
    valid = pc.and_(
        pc.and_(pc.is_valid(table["latitud"]), pc.is_valid(table["longitud"])),
        pc.and_(pc.is_valid(day), pc.is_valid(offence)),
    ).to_numpy(zero_copy_only=False)
    lat = table["latitud"].to_numpy()[valid]
    return {
        "rows_in": np.int64(table.num_rows),
        "id": np.arange(1, len(lat) + 1, dtype=np.int64),
        "lat": lat,
        "lon": table["longitud"].to_numpy()[valid],
        "day": day.to_numpy().astype("datetime64[D]")[valid],
        "offence": offence.to_numpy(zero_copy_only=False)[valid].astype(np.int16),
    }


def encode(columns: dict[str, np.ndarray]) -> bytes:
    """Return the binary ``COPY`` stream of the numeric columns."""
    return pgcopy.encode(
        [
            pgcopy.fixed(columns["id"], ">i8"),
            pgcopy.fixed(columns["lat"], ">f8"),
            pgcopy.fixed(columns["lon"], ">f8"),
            pgcopy.dates(columns["day"]),
            pgcopy.fixed(columns["offence"], ">i2"),
        ]
    )


def prepare(engine: Engine, path: Path) -> tuple[bytes, dict]:
    """Untimed: create the target table, parse and encode; return the stream and facts."""
    with engine.begin() as conn:
        conn.execute(text(DDL))
    t0 = time.perf_counter()
    columns = parse(path)
    t1 = time.perf_counter()
    payload = encode(columns)
    t2 = time.perf_counter()
    facts = {
        "rows_in": int(columns["rows_in"]),
        "rows_stored": len(columns["id"]),
        "parse_s": t1 - t0,
        "encode_s": t2 - t1,
        "copy_bytes": len(payload),
    }
    return payload, facts


def copy(engine: Engine, payload: bytes) -> None:
    """Timed: one binary ``COPY`` of ``payload`` into the plain table, then commit."""
    view = memoryview(payload)
    pieces = (view[start : start + PIECE] for start in range(0, len(view), PIECE))
    with engine.begin() as conn:
        bulk.send(conn, TABLE, COLUMNS, pieces)


def stored_rows(engine: Engine) -> int:
    """Return the rows the floor table holds."""
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one())
