"""Large inputs are fingerprinted from a bounded sample, hashed whole while the run reads them, and
still recognised by content: a touch is no new input, changed bytes anywhere are, a change during the
read commits nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.sources import SourceContext, fingerprint
from dativo_ingest.ingest.sources.csv import CsvSource
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from dativo_ingest.workspace import Workspace
from tests.ingest.helpers import good_rows, write_contract, write_csv, write_job


@pytest.fixture
def large_job(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 2,000-row CSV counted as large (sampled in 4 blocks of 64 bytes)."""
    monkeypatch.setattr(fingerprint, "SAMPLE_LIMIT", 1024)
    monkeypatch.setattr(fingerprint, "SAMPLE_BLOCKS", 4)
    monkeypatch.setattr(fingerprint, "SAMPLE_BYTES", 64)
    write_contract(workspace)
    write_csv(workspace / "data" / "big.csv", good_rows(0, 2000))
    return write_job(workspace, {"source": {"type": "csv", "path": "../data/big.csv"}})


def rows_in_table() -> int:
    catalog = load_catalog_for(CatalogConfig(), Workspace.current().warehouse)
    return catalog.load_table("bronze.stripe_customers").scan().to_arrow().num_rows


def test_a_large_file_is_not_hashed_before_the_read(large_job: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[str] = []
    original = fingerprint.content_hash
    monkeypatch.setattr(fingerprint, "content_hash", lambda path: hashed.append("x") or original(path))
    job = load_job(large_job)
    source = CsvSource(CsvSource.Options(path=str(job.base_dir / "../data/big.csv")), _context(job))
    source.fingerprint()
    assert hashed == []  # a sample only
    list(source.batches())
    assert hashed == ["x"]  # once, alongside the read


def test_a_touched_large_file_is_not_new_input_but_changed_middle_bytes_are(
    workspace: Path, large_job: Path
) -> None:
    first = run_job(load_job(large_job))
    assert first.status == "success" and first.rows_written == 2000
    data = workspace / "data" / "big.csv"
    first_size = data.stat().st_size
    os.utime(data, (later := data.stat().st_mtime + 60, later))  # `touch`: same bytes
    assert run_job(load_job(large_job)).status == "skipped"
    assert rows_in_table() == 2000
    text = data.read_text()
    middle = text.index("cus_001000,")  # outside the sampled blocks
    data.write_text(text[:middle] + "cus_009999," + text[middle + len("cus_001000,") :])
    assert data.stat().st_size == first_size  # same size, new bytes outside the sample
    changed = run_job(load_job(large_job))
    assert changed.status == "success" and changed.run_key != first.run_key


def test_a_file_that_changes_while_it_is_read_commits_nothing(
    workspace: Path, large_job: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = workspace / "data" / "big.csv"
    original = CsvSource.read_file

    def read_then_append(self, path):
        yield from original(self, path)
        with open(data, "a", encoding="utf-8") as handle:
            handle.write(good_rows(5000, 1)[0] + "\n")

    monkeypatch.setattr(CsvSource, "read_file", read_then_append)
    with pytest.raises(SourceError, match="changed while it was read; nothing committed"):
        run_job(load_job(large_job))
    assert not rows_in_table()
    monkeypatch.setattr(CsvSource, "read_file", original)
    assert run_job(load_job(large_job)).rows_written == 2001  # the next run reads the new file


def _context(job) -> SourceContext:
    columns = ("id", "email", "status", "balance", "created_at")
    return SourceContext(
        job.base_dir,
        dict.fromkeys(columns, pa.string()),
        fingerprint_cache=Workspace.current().state / "state" / "fingerprints.json",
    )
