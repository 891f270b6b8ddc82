"""How a distributed run cuts a file input into tasks (``Source.pieces``): contiguous CSV byte ranges
starting at line starts, as many as keep every worker busy in the last round, none larger than asked."""

from __future__ import annotations

import itertools
from pathlib import Path

import pyarrow as pa
import pytest

from dativo_ingest.ingest.sources import SourceContext, build_source
from dativo_ingest.ingest.sources.base import MIN_SPLIT_BYTES

MB = 1024 * 1024


def _csv(path: Path, size: int) -> Path:
    """A CSV file of about ``size`` bytes, with lines of varying length."""
    lines = ["id,name"] + [f"{i},{'x' * (i % 37)}" for i in range(size // 22)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _pieces(path: Path, split: int, workers: int) -> list:
    context = SourceContext(path.parent, {"id": pa.int64(), "name": pa.string()})
    return build_source("csv", {"path": str(path)}, context).pieces(split, workers)


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_byte_ranges_come_in_rounds_of_the_workers_and_cover_the_file(tmp_path: Path, workers: int) -> None:
    path = _csv(tmp_path / "c.csv", 3 * MB)
    data = path.read_bytes()
    split = 256 * 1024
    pieces = _pieces(path, split, workers)
    assert len(pieces) % workers == 0
    assert len(pieces) >= len(data) // split  # never fewer tasks than the size asks for
    assert [p.ordinal for p in pieces] == list(range(len(pieces)))
    assert pieces[0].start == 0 and pieces[-1].end == len(data)
    for before, after in itertools.pairwise(pieces):
        assert before.end == after.start and data[after.start - 1 : after.start] == b"\n"
    longest_line = max(len(line) for line in data.splitlines()) + 1
    assert all(p.end - p.start <= split + longest_line for p in pieces)


def test_an_even_share_is_not_cut_below_the_smallest_task(tmp_path: Path) -> None:
    path = _csv(tmp_path / "c.csv", MIN_SPLIT_BYTES * 5 // 2)
    pieces = _pieces(path, 128 * MB, 4)
    assert len(pieces) == 2  # four shares would be under the floor: as many as it allows
    assert all(p.end - p.start >= MIN_SPLIT_BYTES for p in pieces)
    assert len(_pieces(path, 16 * MB, 2)) == 2  # at most split_mb still wins over the floor
    assert len(_pieces(_csv(tmp_path / "m.csv", MIN_SPLIT_BYTES * 3 // 2), 128 * MB, 2)) == 1
    assert len(_pieces(_csv(tmp_path / "small.csv", MB), 128 * MB, 2)) == 1


def test_a_line_longer_than_a_share_stays_in_one_range_without_splinters(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    lines = ["id,name"] + [f"{i},x" for i in range(100_000)]
    lines[50_000] = f"50000,{'y' * 700_000}"  # longer than two shares
    path.write_text("\n".join(lines) + "\n")
    split = 256 * 1024
    pieces = _pieces(path, split, 1)
    long_line = path.read_bytes().index(b"y" * 10)
    holder = next(p for p in pieces if p.start <= long_line < p.end)
    assert holder.end - holder.start > 700_000
    assert min(p.end - p.start for p in pieces) > split // 4  # the cuts it spans make no one-line ranges
    assert [p.start for p in pieces[1:]] == [p.end for p in pieces[:-1]]


@pytest.mark.parametrize("before_cut", [0, 50])
def test_a_long_line_ending_at_or_just_before_a_cut_leaves_no_splinter(
    tmp_path: Path, before_cut: int
) -> None:
    share = 256 * 1024
    head = "id,name\n" + "".join(f"{i},x\n" for i in range(20_000))
    long_line = "9," + "y" * (2 * share - len(head) - before_cut - 3) + "\n"  # ends before_cut before a cut
    path = tmp_path / "c.csv"
    path.write_text(head + long_line + "".join(f"{i},x\n" for i in range(150_000)))
    context = SourceContext(tmp_path, {"id": pa.int64(), "name": pa.string()})
    pieces = build_source("csv", {"path": str(path)}, context).file_pieces(path, share)
    assert min(p.end - p.start for p in pieces[:-1]) > share // 4
    assert [p.start for p in pieces[1:]] == [p.end for p in pieces[:-1]]


def test_parquet_is_shared_by_its_uncompressed_row_groups(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    table = pa.table({"id": pa.array(range(400_000), pa.int64()), "name": pa.array(["x" * 8] * 400_000)})
    path = tmp_path / "c.parquet"
    pq.write_table(table, path, row_group_size=10_000, compression="zstd")  # 40 groups, compressed on disk
    context = SourceContext(tmp_path, {"id": pa.int64(), "name": pa.string()})
    source = build_source("parquet", {"path": str(path)}, context)
    uncompressed = source.split_size(path)
    assert uncompressed > path.stat().st_size
    assert len(source.pieces(-(-uncompressed // 4), 1)) == 4
    pieces = source.pieces(-(-uncompressed // 4), 3)
    assert len(pieces) == 6  # two rounds of three, not as cut by the bytes on disk
    groups = [g for p in pieces for g in p.row_groups]
    assert groups == list(range(40))
