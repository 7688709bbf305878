"""Reading input files: the gzip reader and the read-ahead thread, on synthetic files."""

from __future__ import annotations

import gzip
import threading
import zlib

import pytest

from etl.csvstream import GzipReader, read_ahead

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
