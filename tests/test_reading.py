"""Reading input files: the gzip reader and the read-ahead thread, on synthetic files."""

from __future__ import annotations

import gzip
import threading
import zlib

import pytest

from etl import csvstream
from etl.csvstream import GzipReader, StreamState, read_ahead, stream_csv

TEXT = b"".join(b"%d,line %d\n" % (i, i) for i in range(5000))


def read_all(reader: GzipReader, size: int = 1000) -> bytes:
    parts = [reader.readline()]
    while block := reader.read(size):
        parts.append(block)
    return b"".join(parts)


@pytest.mark.parametrize("size", [1, 4096, 1 << 22])
def test_gzip_reader_reads_every_member_of_a_concatenated_file(tmp_path, size):
    path = tmp_path / "two.csv.gz"
    path.write_bytes(gzip.compress(TEXT[:30000]) + gzip.compress(TEXT[30000:]) + b"\0" * 8)
    with GzipReader(path) as reader:
        assert read_all(reader, size) == TEXT


def test_gzip_reader_gives_everything_before_a_cut_then_eoferror(tmp_path):
    whole = gzip.compress(TEXT, compresslevel=1)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with GzipReader(path) as reader, pytest.raises(EOFError, match="end marker"):
        parts = [reader.readline()]
        while True:
            parts.append(reader.read(4096))
    got = b"".join(parts)
    # what it gives is the text's beginning, and nearly all of what the kept half holds
    assert TEXT.startswith(got) and len(got) > len(TEXT) // 3
    decoder = zlib.decompressobj(31)
    assert got == decoder.decompress(whole[: len(whole) // 2])


def test_gzip_reader_of_an_empty_member(tmp_path):
    path = tmp_path / "empty.csv.gz"
    path.write_bytes(gzip.compress(b""))
    with GzipReader(path) as reader:
        assert reader.readline() == b"" and reader.read(10) == b""


def test_read_ahead_yields_everything_in_order():
    assert list(read_ahead(iter(range(50)), depth=2)) == list(range(50))


def test_read_ahead_raises_the_producers_error_where_it_happened():
    def broken():
        yield 1
        yield 2
        raise ValueError("line 3: broken")

    got = []
    with pytest.raises(ValueError, match="line 3"):
        for item in read_ahead(broken()):
            got.append(item)
    assert got == [1, 2]


def test_read_ahead_stops_and_closes_the_producer_when_the_consumer_stops():
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    items = read_ahead(endless())
    assert next(items) == 0
    items.close()
    assert closed.wait(5)
    assert not any(t.name == "read-ahead" and t.is_alive() for t in threading.enumerate())


def test_stream_keeps_the_required_columns_under_their_clean_names(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes('\ufeff"a", b ,c\n1,2,3\n4,5,6\n'.encode())
    chunks = list(stream_csv(path, ["a", "b"], StreamState()))
    assert len(chunks) == 1
    assert chunks[0].table.to_pydict() == {"a": ["1", "4"], "b": ["2", "5"]}
    assert chunks[0].lines.tolist() == [2, 3]


def test_slices_grow_from_the_first_size_to_the_chunk_size(tmp_path, monkeypatch):
    monkeypatch.setattr(csvstream, "FIRST_CHUNK_BYTES", 100)
    monkeypatch.setattr(csvstream, "CHUNK_BYTES", 400)
    path = tmp_path / "many.csv"
    body = TEXT[: TEXT.index(b"\n", 3000) + 1]
    path.write_bytes(b"a,b\n" + body)
    chunks = list(stream_csv(path, ["a", "b"], StreamState()))
    sizes = [len(c.raw) for c in chunks]
    longest = max(len(line) for line in body.splitlines(keepends=True))
    # each slice is the bytes read plus the partial line the previous one left over
    assert sizes[0] <= 100 and sizes[1] <= 200 + longest
    assert 300 < max(sizes) <= 400 + longest
    assert b"".join(c.raw for c in chunks) == body
    assert chunks[-1].first_line + len(chunks[-1].starts) - 2 == body.count(b"\n")
