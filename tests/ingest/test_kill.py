"""SIGKILL mid-run leaves the table at its previous snapshot; the re-run lands every row exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest

from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from tests.ingest.helpers import good_rows, write_contract, write_csv, write_job

ROOT = Path(__file__).resolve().parents[2]
RUNNER = "import sys; from dativo_ingest.ingest import load_job, run_job; run_job(load_job(sys.argv[1]))"


def data_files(workspace: Path) -> int:
    folder = workspace / "warehouse" / "bronze" / "stripe_customers" / "data"
    return len(list(folder.glob("*.parquet"))) if folder.is_dir() else 0


@pytest.mark.slow
def test_sigkill_mid_run_changes_nothing_and_the_rerun_lands_each_row_once(workspace: Path) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "first.csv", good_rows(0, 1000))
    first_job = write_job(workspace, {"source": {"type": "csv", "path": "../data/first.csv"}})
    run_job(load_job(first_job))
    catalog = load_catalog_for(CatalogConfig(), workspace / "warehouse")
    before = catalog.load_table("bronze.stripe_customers").current_snapshot().snapshot_id
    files_before = data_files(workspace)

    big = 300_000
    write_csv(workspace / "data" / "big.csv", good_rows(1000, big))
    job = write_job(
        workspace,
        {
            "source": {"type": "csv", "path": "../data/big.csv", "block_size_mb": 1},
            "batch_size": 5000,
            "target": {"namespace": "bronze", "file_size_mb": 1},
        },
        name="big.yaml",
    )
    env = {**os.environ, "DATIVO_HOME": str(workspace)}
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(job)], cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while data_files(workspace) <= files_before + 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed; make the input bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert data_files(workspace) > files_before + 1  # data was staged when it died ...
    table = catalog.load_table("bronze.stripe_customers")
    assert table.current_snapshot().snapshot_id == before  # ... but none of it is visible
    assert table.scan().to_arrow().num_rows == 1000

    result = run_job(load_job(job))
    assert result.status == "success" and result.rows_written == big
    rows = catalog.load_table("bronze.stripe_customers").scan(selected_fields=("id",)).to_arrow()
    assert rows.num_rows == 1000 + big
    assert pc.count_distinct(rows.column("id")).as_py() == 1000 + big
    assert run_job(load_job(job)).status == "skipped"
