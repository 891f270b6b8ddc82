"""``dativo demo``: a complete workspace in one command, with no server and no network.

Writes sample contracts (the spec's Stripe customers among them), job configs and deterministic sample
data with a few invalid rows; runs both jobs into the local Iceberg warehouse (valid rows committed,
bad rows quarantined with reasons, lineage and FinOps recorded); generates the dbt project and, when
dbt is installed, runs ``dbt build`` on it. Each step reports through ``say`` (the CLI prints it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dativo_ingest.demo import samples
from dativo_ingest.errors import UsageError
from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.workspace import Workspace

FILES = {
    "assets/stripe/v1.0/customers.yaml": lambda: samples.STRIPE_CUSTOMERS,
    "assets/shop/v1.0/orders.yaml": lambda: samples.SHOP_ORDERS,
    "jobs/stripe_customers.yaml": lambda: samples.CUSTOMERS_JOB,
    "jobs/shop_orders.yaml": lambda: samples.ORDERS_JOB,
}


def write_workspace(root: Path) -> list[Path]:
    """Write the demo's contracts, jobs and data under ``root`` (refuses a non-empty folder)."""
    if root.exists() and any(p for p in root.iterdir() if p.name != ".DS_Store"):
        raise UsageError("the demo needs an empty (or new) folder", path=str(root))
    customers, ids = samples.customers_csv()
    files = {name: make() for name, make in FILES.items()}
    files["data/stripe/customers.csv"] = customers
    files["data/shop/orders.jsonl"] = samples.orders_jsonl(ids)
    written = []
    for name, text in files.items():
        written.append(atomic_write_text(root / name, text))
    return written


@contextmanager
def _workspace_env(root: Path):
    previous = os.environ.get("DATIVO_HOME")
    os.environ["DATIVO_HOME"] = str(root)
    try:
        yield Workspace.current(root)
    finally:
        if previous is None:
            os.environ.pop("DATIVO_HOME", None)
        else:
            os.environ["DATIVO_HOME"] = previous


def run_demo(
    root: Path, *, dbt: bool = True, say: Callable[[str, Any], None] | None = None
) -> dict[str, Any]:
    """Build and run the demo in ``root``; returns what each step did."""
    from dativo_ingest.ingest import load_job, run_job

    report: dict[str, Any] = {"workspace": str(root)}
    emit = say or (lambda step, data: None)
    root = root.resolve()
    write_workspace(root)
    emit("workspace", {"root": str(root), "files": [*sorted(FILES), "data/"]})
    with _workspace_env(root) as ws:
        runs = []
        for job_file in sorted((root / "jobs").glob("*.yaml")):
            result = run_job(load_job(job_file), workspace=ws).to_dict()
            runs.append(result)
            emit("run", result)
        report["runs"] = runs
        report["dbt"] = _dbt(ws, run_build=dbt)
        emit("dbt", report["dbt"])
        report["lineage"] = _lineage(ws)
        emit("lineage", report["lineage"])
        report["cost"] = {r["job_name"]: r.get("cost_usd") for r in runs}
        emit("cost", report["cost"])
    return report


def _dbt(ws: Workspace, *, run_build: bool) -> dict[str, Any]:
    from dativo_ingest.ingest.components import refresh_dbt

    generated = refresh_dbt(ws) or {"skipped": "dbt generation is not installed"}
    result: dict[str, Any] = {"generated": generated}
    executable = shutil.which("dbt", path=str(Path(sys.executable).parent)) or shutil.which("dbt")
    if not run_build:
        result["build"] = "skipped (--no-dbt)"
    elif executable is None or "skipped" in generated:
        result["build"] = "skipped (dbt is not installed: pip install 'dativo-ingest[dbt]')"
    else:
        proc = subprocess.run(
            [
                executable,
                "build",
                "--project-dir",
                str(ws.dbt),
                "--profiles-dir",
                str(ws.dbt),
                "--no-use-colors",
            ],
            cwd=ws.dbt,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        lines = [
            line for line in proc.stdout.splitlines() if "Done." in line or "ERROR" in line or "FAIL" in line
        ]
        result["build"] = "passed" if proc.returncode == 0 else "failed"
        result["summary"] = lines[-1].split("Done.", 1)[-1].strip() if lines else proc.stdout[-400:]
        if proc.returncode != 0:
            result["log"] = proc.stdout[-2000:]
    return result


def _lineage(ws: Workspace) -> list[str]:
    try:
        from dativo_ingest.lineage import LineageTracker
    except ImportError:
        return ["lineage is not installed"]
    tracker = LineageTracker(workspace=ws)
    paths = []
    for source in ("source://stripe/customers", "source://shop/orders"):
        try:
            downstream = tracker.get_downstream_lineage(source, max_depth=6)
        except Exception:
            continue
        chain = [source] + [
            entry["node"]["id"] if isinstance(entry["node"], dict) else str(entry["node"])
            for entry in sorted(downstream, key=lambda e: e["depth"])
        ]
        paths.append(" -> ".join(chain))
    return paths
