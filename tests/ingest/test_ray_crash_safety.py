"""The Ray engine survives what kills processes: a worker killed mid-task is retried and the run lands
exactly what a single process lands; a driver killed before its commit leaves no snapshot, and the next
run deletes the files it left and lands the input exactly once. And a run spreads over two nodes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.engines import staging
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from dativo_ingest.workspace import Workspace
from tests.conftest import RayNodes
from tests.ingest.helpers import good_rows, write_contract, write_csv, write_job

ROWS = 150_000  # ~10 MB of CSV


def _input(workspace: Path) -> Path:
    write_contract(workspace)
    lines = good_rows(0, ROWS)
    lines[100] = lines[100].replace("active", "bogus")
    lines[120_000] = lines[7]  # a repeated id, far from its first occurrence
    return write_csv(workspace / "data" / "c.csv", lines)


def _job(workspace: Path, name: str, engine: dict) -> Path:
    body = {"name": name, "source": {"type": "csv", "path": "../data/c.csv"}, "target": {"table": name}}
    return write_job(workspace, {**body, "engine": engine}, name=f"{name}.yaml")


def _table(workspace: Path, name: str):
    return load_catalog_for(CatalogConfig(), workspace / "warehouse").load_table(f"bronze.{name}")


def _cli(workspace: Path, nodes: RayNodes, job: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "dativo_ingest", "run", "--config", str(job), "--json"]
    command += ["--engine", "ray", "--ray-address", nodes.address]
    env = {**nodes.env, "DATIVO_HOME": str(workspace)}
    return subprocess.Popen(command, env=env, cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finished(process: subprocess.Popen, timeout: float = 180) -> dict:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err.decode()[-2000:]
    return json.loads(out)


def test_a_worker_killed_mid_task_is_retried_and_the_run_lands_once(workspace: Path, ray_local) -> None:
    _input(workspace)
    local = run_job(load_job(_job(workspace, "by_local", {"type": "local"})), workspace=Workspace(workspace))
    killed: list[int] = []
    stop = threading.Event()

    def kill_one_piece_task() -> None:
        while not stop.is_set() and not killed:
            for process in psutil.process_iter(["pid", "cmdline"]):
                title = (process.info["cmdline"] or [""])[0]
                if title.startswith("ray::_piece_task"):
                    process.send_signal(signal.SIGKILL)
                    killed.append(process.info["pid"])
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_piece_task, daemon=True)
    killer.start()
    try:
        job = _job(workspace, "by_ray", {"type": "ray", "split_mb": 0.5, "max_retries": 3})
        ray = run_job(load_job(job), workspace=Workspace(workspace))
    finally:
        stop.set()
        killer.join()
    assert killed, "no piece task was caught running: the test could not kill a worker"
    assert ray.status == "success"
    for field in ("rows_read", "rows_written", "rows_quarantined", "rule_failures"):
        assert getattr(ray, field) == getattr(local, field), field
    table = _table(workspace, "by_ray")
    assert len(table.metadata.snapshots) == 1
    assert table.scan().to_arrow().num_rows == local.rows_written


def test_a_run_spreads_over_two_nodes(workspace: Path, ray_two_nodes: RayNodes) -> None:
    _input(workspace)
    local = run_job(load_job(_job(workspace, "by_local", {"type": "local"})), workspace=Workspace(workspace))
    result = _finished(_cli(workspace, ray_two_nodes, _job(workspace, "by_ray", {"split_mb": 0.5})))
    assert result["status"] == "success"
    assert result["engine"]["nodes"] == 2 and result["engine"]["tasks"] >= 10
    for field in ("rows_read", "rows_written", "rows_quarantined", "rule_failures"):
        assert result[field] == getattr(local, field), field
    assert len(_table(workspace, "by_ray").metadata.snapshots) == 1


def test_a_driver_killed_before_its_commit_leaves_files_the_next_run_deletes(
    workspace: Path, ray_two_nodes: RayNodes
) -> None:
    _input(workspace)
    job = _job(workspace, "killed", {"split_mb": 0.25})
    record = staging.record_path(Workspace(workspace), "acme", "killed")
    driver = _cli(workspace, ray_two_nodes, job)
    data: Path | None = None
    uuid = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and driver.poll() is None:
        if record.exists():
            uuid = json.loads(record.read_text())["write_uuid"]
            data = Path(json.loads(record.read_text())["location"].removeprefix("file://")) / "data"
            if data.exists() and any(uuid in f.name for f in data.iterdir()):
                break
        time.sleep(0.02)
    assert driver.poll() is None, "the run ended before a data file was written: nothing to kill"
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    assert data is not None and uuid is not None
    time.sleep(3)  # Ray stops the dead driver's tasks
    orphans = [f for f in data.iterdir() if uuid in f.name]
    assert orphans
    assert _table(workspace, "killed").current_snapshot() is None  # nothing committed
    assert record.exists()

    rerun = _finished(_cli(workspace, ray_two_nodes, job))
    assert rerun["status"] == "success"
    assert not [f for f in orphans if f.exists()]  # the killed run's files are gone
    assert not record.exists()
    table = _table(workspace, "killed")
    assert len(table.metadata.snapshots) == 1
    assert table.scan().to_arrow().num_rows == rerun["rows_written"] == ROWS - 2
    again = _finished(_cli(workspace, ray_two_nodes, job))
    assert again["status"] == "skipped"
    assert len(_table(workspace, "killed").metadata.snapshots) == 1
