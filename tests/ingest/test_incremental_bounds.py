"""Incremental runs: the window is read under the job's lock, and boundary identities are bounded."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from dativo_ingest.ingest import boundary as boundary_module
from dativo_ingest.ingest import load_job, run_job, runner
from dativo_ingest.ingest.boundary import Boundary
from dativo_ingest.ingest.sources.base import Incremental
from tests.ingest.helpers import write_contract, write_csv, write_job
from tests.ingest.test_incremental import ids_in_table

DAY = "2024-01-{:02d}T00:00:00Z"


def _rows(start: int, count: int, day: int) -> list[str]:
    return [f"cus_{i},u{i}@example.com,active,{i},{DAY.format(day)}" for i in range(start, start + count)]


def _job(workspace: Path, path: str, name: str = "job.yaml") -> Path:
    return write_job(
        workspace,
        {"source": {"type": "csv", "path": path}, "incremental": {"cursor_field": "created_at"}},
        name=name,
    )


def _state(workspace: Path) -> dict:
    return json.loads((workspace / ".dativo" / "state" / "acme" / "customers.json").read_text())


# ----- 1. the window is read under the job's lock --------------------------------------------------
def test_a_concurrent_run_of_the_job_waits_for_the_cursor_the_lock_holder_commits(workspace: Path) -> None:
    """Run A holds the lock while B starts: B must read A's cursor, not the one before A, so the rows
    A ingested are not ingested again (and the cursor never goes back)."""
    write_contract(workspace)
    write_csv(workspace / "data" / "a.csv", _rows(1, 4, 1) + _rows(5, 2, 2))
    write_csv(workspace / "data" / "b.csv", _rows(7, 3, 3))
    job_a = _job(workspace, "../data/a.csv", "a.yaml")
    job_b = _job(workspace, "../data", "b.yaml")  # same job (acme/customers), more input
    outcome: dict = {}

    def run_b() -> None:
        try:
            outcome["b"] = run_job(load_job(job_b))
        except Exception as exc:  # pragma: no cover - reported below
            outcome["error"] = exc

    thread = threading.Thread(target=run_b)

    def progress(read: int, quarantined: int) -> None:  # called by A inside the job's lock
        if not thread.is_alive() and "b" not in outcome:
            thread.start()
            time.sleep(0.5)  # let B get as far as it can before A commits

    first = run_job(load_job(job_a), progress=progress)
    thread.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    assert first.rows_written == 6
    assert outcome["b"].rows_written == 3  # only b.csv's rows: a.csv's are behind A's cursor
    ids = ids_in_table(workspace)
    assert ids == sorted(set(ids)) and len(ids) == 9
    assert _state(workspace)["cursor"] == "2024-01-03T00:00:00+00:00"


# ----- 2. boundary identities are bounded ---------------------------------------------------------
def test_boundary_keeps_at_most_limit_identities_and_warns() -> None:
    incremental = Incremental("created_at", pa.date32(), None)
    boundary = Boundary(incremental, "id", ["id", "created_at"], limit=10)
    batch = pa.record_batch(
        {"id": [f"r{i}" for i in range(25)], "created_at": ["2024-01-01"] * 24 + ["2023-12-31"]}
    )
    boundary.observe(boundary.admit(batch))
    cursor, keys = boundary.result()
    assert str(cursor) == "2024-01-01"
    assert len(keys) == 10 and len(boundary.top_keys) == 10
    assert boundary.truncated
    assert "too coarse" in boundary.warnings[0] and "duplicates, never loss" in boundary.warnings[0]
    small = Boundary(incremental, "id", ["id", "created_at"], limit=100)
    small.observe(batch)
    assert not small.truncated and small.warnings == [] and len(small.result()[1]) == 24


def test_a_cursor_shared_by_more_rows_than_the_cap_warns_and_bounds_the_state(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boundary_module, "MAX_BOUNDARY_KEYS", 5)
    write_contract(workspace)
    data = workspace / "data" / "a.csv"
    write_csv(data, _rows(1, 12, 1))  # 12 rows at one date
    job = _job(workspace, "../data/a.csv")
    first = run_job(load_job(job))
    assert first.rows_written == 12
    assert any("too coarse for exact boundary dedupe" in w for w in first.warnings)
    assert len(_state(workspace)["boundary_keys"]) == 5
    write_csv(data, _rows(1, 12, 1) + _rows(13, 1, 2))
    second = run_job(load_job(job))
    # at-least-once: the 7 rows at the boundary whose identities were not kept are read again
    assert second.rows_written == 1 + 7
    assert set(ids_in_table(workspace)) == {f"cus_{i}" for i in range(1, 14)}
    assert not any("too coarse" in w for w in second.warnings)
    assert len(_state(workspace)["boundary_keys"]) == 1


def test_recovery_from_a_commit_without_its_keys_warns_and_reads_the_boundary_again(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "MAX_COMMITTED_KEYS", 2)
    write_contract(workspace)
    data = workspace / "data" / "a.csv"
    write_csv(data, _rows(1, 5, 1))
    job = _job(workspace, "../data/a.csv")
    assert run_job(load_job(job)).rows_written == 5
    (workspace / ".dativo" / "state" / "acme" / "customers.json").unlink()  # died before the state write
    write_csv(data, _rows(1, 5, 1) + _rows(6, 1, 2))
    second = run_job(load_job(job))
    assert any("without its boundary identities" in w for w in second.warnings)
    assert second.rows_written == 5 + 1  # the rows at the cursor are read again: duplicates, never loss
    assert set(ids_in_table(workspace)) == {f"cus_{i}" for i in range(1, 7)}


def test_a_skipped_rerun_keeps_the_state_keys_a_commit_could_not_carry(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "MAX_COMMITTED_KEYS", 2)
    write_contract(workspace)
    write_csv(workspace / "data" / "a.csv", _rows(1, 5, 1))
    job = _job(workspace, "../data/a.csv")
    run_job(load_job(job), run_key="k1")
    again = run_job(load_job(job), run_key="k1")  # the same run again (e.g. a retried orchestrator task)
    assert again.status == "skipped"
    assert not any("boundary identities" in w for w in again.warnings)
    assert len(_state(workspace)["boundary_keys"]) == 5


# ----- 4. the CSV source's per-file bookkeeping exists before the prefetch thread starts -----------
def test_csv_source_creates_its_per_file_dicts_in_init(tmp_path: Path) -> None:
    from dativo_ingest.ingest.sources import SourceContext, build_source

    source = build_source("csv", {"path": "a.csv"}, SourceContext(tmp_path, {"id": pa.string()}, 10, None))
    assert vars(source)["_widths"] == {} and vars(source)["_rejected_in"] == {}
    assert source.malformed is not None and source.stats is not None  # the base class was initialised
