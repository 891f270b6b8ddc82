"""Quoted CSV values holding line breaks (``\\n``, ``\\r\\n``) land intact, even where a read block of the
streaming reader ends inside one, and the rows rejected after them are named by their physical line."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dativo_ingest.errors import DataValidationError
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from tests.ingest.helpers import CUSTOMERS_CONTRACT, write_contract, write_job

BLOCK = 1 << 20  # block_size_mb: 1
NOTES = [
    '"first line\nsecond line"',
    "plain note",
    "v",
    '"windows\r\nline with ""quotes"", and a comma"',
    "another plain note",
    '"three\nshort\r\nlines"',
    "w",
]


def _text(note: str) -> str:
    """The value a CSV field spells (quotes removed, doubled quotes undone)."""
    return note[1:-1].replace('""', '"') if note.startswith('"') else note


class _Csv:
    """A CSV file built record by record, knowing the physical line each record starts on."""

    def __init__(self) -> None:
        self.data = bytearray(b"id,email,status,balance,created_at,note\n")
        self.expected: dict[str, str] = {}  # id -> note of the rows that must land
        self.lines: dict[str, int] = {}  # id -> physical line of the record (header = line 1)

    def add(self, record: str, rid: str, note: str | None = None) -> None:
        self.lines[rid] = self.data.count(b"\n") + 1
        if note is not None:
            self.expected[rid] = note
        self.data += record.encode() + b"\n"

    def good(self, i: int, note: str) -> None:
        rid = f"cus_{i:06d}"
        self.add(f"{rid},user{i}@example.com,active,{i % 1000},2024-01-01T00:00:00Z,{note}", rid, _text(note))


def _multiline_file(path: Path) -> _Csv:
    """~4 MB where most values span lines (Arrow 26 with ``newlines_in_values`` off loses sync on it)."""
    csv = _Csv()
    i = 0
    while len(csv.data) < 4 * BLOCK:
        csv.good(i, NOTES[i % len(NOTES)])
        i += 1
        if i == 9000:  # rejected by a rule (no email), its own value over three lines
            csv.add('cus_bad1,,active,1,2024-01-01T00:00:00Z,"bad\nrow\r\none"', "cus_bad1")
        if i == 16000:  # malformed: one field too many, with a line break inside quotes
            csv.add('cus_mal1,m@example.com,active,1,2024-01-01T00:00:00Z,"x\ny",EXTRA', "cus_mal1")
        if i == 24000:  # rejected by a rule (balance below its minimum)
            csv.add('cus_bad2,b@example.com,active,-5,2024-01-01T00:00:00Z,"neg\r\native"', "cus_bad2")
        if i == 29000:  # a quoted value holding a line that spells the malformed row below
            csv.good(i, '"quoted copy\ncus_mal2,s@example.com,active\nend"')
            i += 1
        if i == 30000:  # malformed: short row
            csv.add("cus_mal2,s@example.com,active", "cus_mal2")
    csv.add("cus_bad3,,active,1,2024-01-01T00:00:00Z,last", "cus_bad3")  # the last record: a rule break
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(csv.data))
    return csv


def _job(workspace: Path) -> tuple[Path, _Csv]:
    contract = copy.deepcopy(CUSTOMERS_CONTRACT)
    contract["schema"].append({"name": "note", "type": "string"})
    write_contract(workspace, contract)
    csv = _multiline_file(workspace / "data" / "notes.csv")
    source = {"type": "csv", "path": "../data/notes.csv", "block_size_mb": 1}
    return write_job(workspace, {"source": source}), csv


def _table(workspace: Path, name: str = "bronze.stripe_customers") -> list[dict]:
    catalog = load_catalog_for(CatalogConfig(), workspace / "warehouse")
    return catalog.load_table(name).scan().to_arrow().to_pylist()


def test_values_with_line_breaks_land_intact_across_block_ends(workspace: Path) -> None:
    job, csv = _job(workspace)
    assert len(csv.data) > 4 * BLOCK
    result = run_job(load_job(job))
    good = len(csv.expected)
    assert result.status == "success"
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (good + 5, good, 5)
    landed = {r["id"]: r["note"] for r in _table(workspace)}
    assert landed == csv.expected  # every row, each value with its own \n and \r\n
    assert sum("\r\n" in n for n in landed.values()) > 10_000


def test_rows_rejected_after_multiline_values_are_named_by_their_line(workspace: Path) -> None:
    job, csv = _job(workspace)
    result = run_job(load_job(job))
    assert result.rule_failures["malformed_row"] == 2 and result.rule_failures["required:email"] == 2
    found = sorted(
        (r["source_row"], r["source_location"].rsplit("/", 1)[-1], r["failed_rules"])
        for r in _table(workspace, "bronze.stripe_customers_quarantine")
    )
    lines = csv.lines
    assert [(line, loc) for line, loc, _ in found] == [
        (lines[rid], f"notes.csv:{lines[rid]}")
        for rid in ("cus_bad1", "cus_mal1", "cus_bad2", "cus_mal2", "cus_bad3")
    ]
    by_line = {line: rules for line, _, rules in found}
    assert by_line[lines["cus_mal1"]] == by_line[lines["cus_mal2"]] == ["malformed_row"]
    assert by_line[lines["cus_bad1"]] == by_line[lines["cus_bad3"]] == ["required:email"]
    malformed = {
        r["source_row"]: json.loads(r["record"])
        for r in _table(workspace, "bronze.stripe_customers_quarantine")
        if r["failed_rules"] == ["malformed_row"]
    }
    assert malformed[lines["cus_mal1"]]["reason"] == "expected 6 columns, got 7"
    assert "\ny" in malformed[lines["cus_mal1"]]["text"]
    assert malformed[lines["cus_mal2"]]["reason"] == "expected 6 columns, got 3"


def test_strict_mode_names_the_lines_after_multiline_values(workspace: Path) -> None:
    job, csv = _job(workspace)
    loaded = load_job(job)
    loaded.validation.mode = "strict"
    with pytest.raises(DataValidationError) as caught:
        run_job(loaded)
    lines, message = csv.lines, str(caught.value)
    assert f"notes.csv:{lines['cus_bad1']}: 3 row(s) break the contract" in message
    assert f"line {lines['cus_bad2']}: minimum:balance; line {lines['cus_bad3']}: required:email" in message


def test_rerunning_a_multiline_file_adds_no_rows(workspace: Path) -> None:
    job, csv = _job(workspace)
    first = run_job(load_job(job))
    second = run_job(load_job(job))
    assert second.status == "skipped" and second.run_key == first.run_key
    assert len(_table(workspace)) == len(csv.expected)
