"""A rejected row names where it is in the source: file and physical line (CSV, JSON Lines), file and row
(Parquet), row in the run (databases, APIs, with the page); in the quarantine table and in strict errors."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from dativo_ingest.errors import DataValidationError
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.sources import build_source, csvlines
from dativo_ingest.ingest.sources.csvlines import RecordLines
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from tests.ingest.helpers import (
    CUSTOMERS_CONTRACT,
    HEADER,
    PagedCustomersApi,
    good_rows,
    write_contract,
    write_csv,
    write_job,
)
from tests.ingest.test_sources import ctx

BAD = "cus_bad,,active,1,2024-01-01T00:00:00Z"  # no email: fails required:email


def _quarantine(workspace: Path) -> list[dict]:
    catalog = load_catalog_for(CatalogConfig(), workspace / "warehouse")
    rows = catalog.load_table("bronze.stripe_customers_quarantine").scan().to_arrow().to_pylist()
    return sorted(rows, key=lambda r: (r["source_file"] or "", r["source_row"]))


def _two_csv_files(workspace: Path) -> tuple[Path, Path]:
    """a.csv: 3 good rows; b.csv: 4 good rows, then the bad row on physical line 6 (header = line 1)."""
    write_contract(workspace)
    first = write_csv(workspace / "data" / "a.csv", good_rows(0, 3))
    second = write_csv(workspace / "data" / "b.csv", [*good_rows(3, 4), BAD, *good_rows(7, 2)])
    return first, second


def test_csv_bad_row_in_the_second_file_is_quarantined_with_its_file_and_line(workspace: Path) -> None:
    _, second = _two_csv_files(workspace)
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/*.csv"}})
    result = run_job(load_job(job))
    assert (result.rows_read, result.rows_quarantined) == (10, 1)
    [row] = _quarantine(workspace)
    assert row["failed_rules"] == ["required:email"]
    assert (row["source_file"], row["source_row"]) == (str(second.resolve()), 6)
    assert row["source_location"] == f"{second.resolve()}:6"
    assert json.loads(row["record"])["id"] == "cus_bad"  # the hidden position column is not in it


def test_csv_strict_mode_names_file_and_line(workspace: Path) -> None:
    _, second = _two_csv_files(workspace)
    job = load_job(write_job(workspace, {"source": {"type": "csv", "path": "../data/*.csv"}}))
    job.validation.mode = "strict"
    with pytest.raises(DataValidationError) as caught:
        run_job(job)
    message = str(caught.value)
    assert message.startswith(f"{second.resolve()}:6: 1 row(s) break the contract in strict mode")
    assert "(line 6: required:email)" in message
    assert caught.value.path == str(second.resolve()) and caught.value.line == 6


def test_csv_lines_count_blank_lines_multiline_fields_and_malformed_rows(workspace: Path) -> None:
    write_contract(workspace)
    path = workspace / "data" / "c.csv"
    path.parent.mkdir(parents=True)
    lines = [
        HEADER,  # 1
        good_rows(0, 1)[0],  # 2
        "",  # 3: blank, skipped by the reader
        'cus_000001,user1@example.com,"act',  # 4: a quoted field over two lines
        'ive",1,2024-01-01T00:00:00Z',  # 5  (status "act\nive" fails accepted_values)
        "cus_x,a@example.com,active",  # 6: malformed (3 fields)
        good_rows(2, 1)[0],  # 7
        BAD,  # 8
    ]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})
    result = run_job(load_job(job))
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (5, 2, 3)
    found = [
        (r["source_row"], r["failed_rules"], r["source_location"].rsplit("/", 1)[-1])
        for r in _quarantine(workspace)
    ]
    assert found == [
        (4, ["accepted_values:status"], "c.csv:4"),
        (6, ["malformed_row"], "c.csv:6"),
        (8, ["required:email"], "c.csv:8"),
    ]


def test_csv_records_of_one_line_each_are_named_by_line_as_they_stream(workspace: Path) -> None:
    write_contract(workspace)
    # a quote inside an unquoted field: Arrow reads it as text, and every record is still one line
    rows = [*good_rows(0, 2), 'cus_q,say "hi"@example.com,active,1,2024-01-01T00:00:00Z', BAD]
    write_csv(workspace / "data" / "c.csv", rows)
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})
    run_job(load_job(job))
    [row] = _quarantine(workspace)
    assert (row["source_row"], row["source_location"].rsplit("/", 1)[-1]) == (5, "c.csv:5")


def test_csv_that_cannot_be_followed_exactly_names_the_record_not_a_wrong_line(workspace: Path) -> None:
    write_contract(workspace)
    # a quoted line break first (records are no longer one line each: the line scan takes over),
    # then a quote inside an unquoted field, which the scan does not try to guess
    multiline = 'cus_m,"m\n1"@example.com,active,1,2024-01-01T00:00:00Z'
    rows = [multiline, 'cus_q,say "hi"@example.com,active,1,2024-01-01T00:00:00Z', BAD]
    write_csv(workspace / "data" / "c.csv", rows)
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})
    run_job(load_job(job))
    bad = [r for r in _quarantine(workspace) if r["failed_rules"] == ["required:email"]]
    named = [(r["source_row"], r["source_location"].rsplit("/", 1)[-1]) for r in bad]
    assert named == [(3, "c.csv record 3")]


@pytest.mark.parametrize("spoiler", [None, "blank line", "quoted line break", "malformed row", "CRLF"])
def test_csv_lines_across_many_blocks_match_a_reference_parser(workspace: Path, spoiler: str | None) -> None:
    """Files of several read blocks: records of one line each are named as they stream; from a record
    that is not (or a rejected row, or a carriage return) on, the line scan names them; both agree
    with Python's csv module."""
    write_contract(workspace)
    rows = good_rows(0, 40_000)  # ~3.3 MB: four blocks of 1 MB
    for at in (5, 13_000, 26_000, 39_990):
        rows[at] = BAD.replace("cus_bad", f"cus_bad{at}")
    if spoiler is not None:
        rows.insert(
            20_000,
            {
                "blank line": "",
                "quoted line break": 'cus_ml,"a\nb@example.com",active,1,2024-01-01T00:00:00Z',
                "malformed row": "cus_x,a@example.com,active",
                "CRLF": "cus_cr,cr@example.com,active,1,2024-01-01T00:00:00Z\r",
            }[spoiler],
        )
    path = write_csv(workspace / "data" / "c.csv", rows)
    text = path.read_bytes().decode()
    expected = {
        record[0]: line
        for line, record in _reference_records(text)
        if record and record[0].startswith("cus_bad")
    }
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv", "block_size_mb": 1}})
    run_job(load_job(job))
    found = {
        json.loads(r["record"])["id"]: r["source_row"]
        for r in _quarantine(workspace)
        if r["failed_rules"] == ["required:email"]
    }
    assert found == expected and len(found) == 4


def test_csv_lone_carriage_return_is_not_mistaken_for_one_line_records(workspace: Path) -> None:
    """A lone carriage return ends a record without a line break, a blank line adds a break without
    a record: together the counts agree, yet the lines after them are not ordinal + 1."""
    write_contract(workspace)
    rows = good_rows(0, 40_000)  # ~3.3 MB: the third 1 MB block holds the carriage return
    rows[5], rows[39_990] = BAD.replace("cus_bad", "cus_bad5"), BAD.replace("cus_bad", "cus_bad39990")
    r1, r2 = (f"cus_r{i},r{i}@example.com,active,1,2024-01-01T00:00:00Z" for i in (1, 2))
    rows.insert(30_000, f"{r1}\r{r2}")
    rows.insert(30_001, "")
    write_csv(workspace / "data" / "c.csv", rows)
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv", "block_size_mb": 1}})
    run_job(load_job(job))
    found = {
        json.loads(r["record"])["id"]: r["source_location"].rsplit("/", 1)[-1] for r in _quarantine(workspace)
    }
    assert found == {"cus_bad5": "c.csv:7", "cus_bad39990": "c.csv record 39993"}


def test_csv_in_a_transcoded_encoding_is_not_proven_by_raw_line_breaks(workspace: Path) -> None:
    """Arrow transcodes a non-UTF-8 file before cutting it into blocks, so its blocks are not the raw
    reads: here 888 blank lines make the raw breaks of the first read equal the records of Arrow's
    first block, yet the records after the blank lines are 888 lines further down."""
    contract = {
        **CUSTOMERS_CONTRACT,
        "schema": [
            {"name": "id", "type": "string"},
            {"name": "name", "type": "string"},
            {"name": "note", "type": "string", "required": True},
        ],
        "data_quality": {},
    }
    write_contract(workspace, contract)
    arabic = "\u0627\u0644\u0639\u0631\u0628\u064a\u0629" * 40  # 560 bytes in gb18030, 1120 in UTF-8
    lines = ["id,name,note", *(f"{i},ascii{i},n" for i in range(1, 2001)), *[""] * 888]
    lines += [f"{i},{arabic},{'' if i == 2500 else 'n'}" for i in range(2001, 7000)]
    text = "\n".join(lines) + "\n"
    path = workspace / "data" / "c.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode("gb18030"))
    [expected] = [line for line, record in _reference_records(text) if record and record[0] == "2500"]
    source = {"type": "csv", "path": "../data/c.csv", "encoding": "gb18030", "block_size_mb": 1}
    run_job(load_job(write_job(workspace, {"source": source})))
    [row] = _quarantine(workspace)
    assert row["source_location"].rsplit("/", 1)[-1] == f"c.csv:{expected}" and expected == 3389


@pytest.mark.parametrize("seed", range(3))
def test_line_proof_with_tiny_blocks_never_proves_a_wrong_line(tmp_path: Path, seed: int) -> None:
    """Blocks of a few bytes, so Arrow folds reads without a record end into later batches: what the
    proof claims (record N on line N + 1) must hold for every record it claims, by Python's csv."""
    rng = random.Random(seed)
    fields = ['"a\nb"', '"x\r\ny"', '""', '"q,""z"""']

    def value() -> str:
        return rng.choice(fields) if rng.random() < 0.14 else "v" * rng.randint(0, 12)

    claimed = 0
    for _ in range(600):
        columns = rng.randint(1, 3)
        end = rng.choice(["\n", "\r\n"])
        records = [",".join(f"h{j}" for j in range(columns))]
        for _ in range(rng.randint(1, 60)):
            kind = rng.random()
            width = columns + 1 if kind < 0.02 else columns
            records.append("" if kind > 0.95 else ",".join(value() for _ in range(width)))
        text = end.join(records) + (end if rng.random() < 0.7 else "")
        path = tmp_path / "f.csv"
        path.write_bytes(text.encode())
        block = rng.randint(8, 120)
        counted = csvlines.CountedInput(pa.input_stream(str(path)), quote='"', header=True)
        proof = csvlines.OneLineProof(counted, block_size=block, reliable=True)
        rejected: list = []
        parse = pacsv.ParseOptions(
            newlines_in_values=True, invalid_row_handler=lambda row, seen=rejected: seen.append(row) or "skip"
        )
        try:
            reader = pacsv.open_csv(
                pa.PythonFile(counted, mode="r"),
                read_options=pacsv.ReadOptions(block_size=block),
                parse_options=parse,
            )
            for _ in proof.follow(reader, rejected):
                pass
        except pa.ArrowInvalid:
            continue  # a record straddling two block boundaries: Arrow refuses such tiny blocks
        finally:
            counted.close()
        lines = _reference_lines(text, columns)
        assert all(lines[n - 1] == n + 1 for n in range(1, proof.proven + 1)), (text, block)
        claimed += proof.proven
    assert claimed > 500  # the proof does claim records here, not only refuse


def test_jsonl_rows_are_named_by_line_counting_blank_lines(workspace: Path) -> None:
    write_contract(workspace)
    path = workspace / "data" / "c.jsonl"
    path.parent.mkdir(parents=True)
    good = {"id": "cus_1", "email": "a@example.com", "status": "active", "created_at": "2024-01-01"}
    lines = [
        json.dumps(good),  # 1
        "",  # 2
        "   ",  # 3
        json.dumps({**good, "id": "cus_2", "email": None}),  # 4: fails required:email
        "",  # 5
        json.dumps({**good, "id": "cus_3", "status": "bogus"}),  # 6: fails accepted_values
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = load_job(write_job(workspace, {"source": {"type": "jsonl", "path": "../data/c.jsonl"}}))
    result = run_job(job)
    assert (result.rows_read, result.rows_quarantined) == (3, 2)
    found = [(r["source_row"], r["source_location"]) for r in _quarantine(workspace)]
    assert found == [(4, f"{path.resolve()}:4"), (6, f"{path.resolve()}:6")]
    job.validation.mode = "strict"
    job.name = "strict"
    with pytest.raises(
        DataValidationError, match=r"c\.jsonl:4: 2 row\(s\).*\(line 4: required:email; line 6"
    ):
        run_job(job)


def test_parquet_rows_are_numbered_within_their_file(workspace: Path) -> None:
    write_contract(workspace)
    folder = workspace / "data"
    folder.mkdir(parents=True)
    base = {"id": ["a", "b", "c"], "email": ["a@x", "b@x", "c@x"], "created_at": ["2024-01-01"] * 3}
    pq.write_table(pa.table(base), folder / "1.parquet")
    pq.write_table(
        pa.table({**base, "id": ["d", "e", "f"], "email": ["d@x", None, "f@x"]}), folder / "2.parquet"
    )
    job = load_job(write_job(workspace, {"source": {"type": "parquet", "path": "../data"}}))
    run_job(job)
    [row] = _quarantine(workspace)
    second = str((folder / "2.parquet").resolve())
    assert (row["source_file"], row["source_row"], row["source_location"]) == (second, 2, f"{second} row 2")
    job.validation.mode = "strict"
    job.name = "strict"
    with pytest.raises(DataValidationError, match=r"2\.parquet: 1 row\(s\) .*\(row 2: required:email\)"):
        run_job(job)


def test_http_rows_are_numbered_in_the_run_with_their_page(tmp_path: Path, api_server: str) -> None:
    PagedCustomersApi.fail_first = 0
    options = {
        "url": api_server,
        "headers": {"Authorization": "Bearer tok_secret_123"},
        "pagination": {"page_size": 3},
    }
    source = build_source("http", options, ctx(tmp_path, batch_size=4))
    batches = list(source.numbered_batches())
    assert [b.num_rows for b in batches] == [4, 3]
    positions = source.locate(batches[1], np.array([0, 2]))  # records 5 and 7: pages 2 and 3
    assert [(p.file, p.number, p.page, p.where) for p in positions] == [
        (None, 5, 2, "page 2 row 5"),
        (None, 7, 3, "page 3 row 7"),
    ]


# ----- the line scan against Python's csv module, across chunk boundaries ------------------------
def _reference_records(text: str) -> list[tuple[int, list[str]]]:
    """Every record with the line it starts on, by Python's csv module (blank lines: empty records)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    found, line = [], 1
    for record in reader:
        found.append((line, record))
        line = reader.line_num + 1
    return found


def _reference_lines(text: str, columns: int) -> list[int]:
    """The start line of every well-formed data record, by Python's csv module."""
    records = [(line, record) for line, record in _reference_records(text) if record][1:]  # no header
    return [line for line, record in records if len(record) == columns]


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
@pytest.mark.parametrize("seed", range(4))
def test_record_lines_match_a_reference_parser(tmp_path: Path, monkeypatch, seed: int, quoting: int) -> None:
    monkeypatch.setattr(csvlines, "CHUNK_BYTES", 37)  # records and quotes across chunk boundaries
    rng = random.Random(seed)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=rng.choice(["\n", "\r\n"]), quoting=quoting)
    writer.writerow(["a", "b", "c"])
    for i in range(300):
        kind = rng.random()
        if kind < 0.05:
            out.write("\n")  # blank line
        elif kind < 0.1:
            writer.writerow([f"x{i}", "short"])  # malformed
        else:
            value = rng.choice(["plain", 'with "quotes"', "multi\nline", "comma, inside", "", "x\r\ny"])
            writer.writerow([f"r{i}", value, str(i)])
    text = out.getvalue()
    path = tmp_path / "c.csv"
    path.write_bytes(text.encode())
    expected = _reference_lines(text, 3)
    scanner = RecordLines(path, delimiter=",", quote='"', encoding="utf8", header=True, columns=3)
    assert scanner.lines(np.arange(1, len(expected) + 1)).tolist() == expected
    # asked in pieces, as batches ask, and again from the start
    pieces = [scanner.lines(np.array([k])) for k in (1, 5, len(expected))]
    assert [int(p[0]) for p in pieces] == [expected[0], expected[4], expected[-1]]
    assert scanner.lines(np.array([len(expected) + 1])) is None  # beyond the file: unknowable
    scanner.close()


def test_record_lines_without_malformed_rows_skip_counting_fields(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text('a,b\n"x\ny",1\n\nz,2\n', encoding="utf-8")
    scanner = RecordLines(path, delimiter=",", quote='"', encoding="utf8", header=True, columns=2)
    assert scanner.lines(np.array([1, 2]), malformed=False).tolist() == [2, 5]
    assert scanner.lines(np.array([2]), malformed=True).tolist() == [5]  # counts fields from now on
    scanner.close()
