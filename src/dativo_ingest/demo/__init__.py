"""``dativo demo``: a complete workspace in one command, with no server and no network.

Writes sample contracts (the spec's Stripe customers among them), job configs and deterministic sample
data with a few invalid rows; runs both jobs into the local Iceberg warehouse (valid rows committed,
bad rows quarantined with reasons, lineage and FinOps recorded); generates the dbt project (with two
dashboard exposures) and, when dbt is installed, runs ``dbt build`` (``dbt parse`` with ``dbt=False``)
and imports its manifest into lineage, so the graph runs source -> validation (under the contract) ->
Iceberg -> dbt source -> staging model -> dashboard. Each step reports through ``say`` (the CLI prints it).
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

from dativo_ingest.dbt.manifest import load_manifest, record_lineage
from dativo_ingest.dbt.workspace import generate_workspace_project
from dativo_ingest.demo import samples
from dativo_ingest.errors import DativoError, UsageError
from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.lineage_graph.render import to_tree
from dativo_ingest.lineage_graph.tracker import LineageTracker
from dativo_ingest.workspace import Workspace

EXPOSURES = "exposures.yaml"  # the demo's dashboards, dbt exposures of the generated project
FILES = {
    "assets/stripe/v1.0/customers.yaml": lambda: samples.STRIPE_CUSTOMERS,
    "assets/shop/v1.0/orders.yaml": lambda: samples.SHOP_ORDERS,
    "jobs/stripe_customers.yaml": lambda: samples.CUSTOMERS_JOB,
    "jobs/shop_orders.yaml": lambda: samples.ORDERS_JOB,
    EXPOSURES: lambda: samples.EXPOSURES,
}
SOURCES = ("source://shop/orders", "source://stripe/customers")


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
    generated = generate_workspace_project(ws, exposures=ws.root / EXPOSURES, exposures_origin=EXPOSURES)
    result: dict[str, Any] = {"generated": generated.summary()}
    executable = shutil.which("dbt", path=str(Path(sys.executable).parent)) or shutil.which("dbt")
    if executable is None:
        result["build"] = (
            "skipped (--no-dbt)"
            if not run_build
            else "skipped (dbt is not installed: pip install 'dativo-ingest[dbt]')"
        )
        return result
    command = "build" if run_build else "parse"
    proc = subprocess.run(
        [executable, command, "--project-dir", str(ws.dbt), "--profiles-dir", str(ws.dbt), "--no-use-colors"],
        cwd=ws.dbt,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    status = "passed" if proc.returncode == 0 else "failed"
    if run_build:
        lines = [
            line for line in proc.stdout.splitlines() if "Done." in line or "ERROR" in line or "FAIL" in line
        ]
        result["build"] = status
        result["summary"] = lines[-1].split("Done.", 1)[-1].strip() if lines else proc.stdout[-400:]
    else:
        result["build"] = "skipped (--no-dbt)"
        result["parse"] = status
    if proc.returncode != 0:
        result["log"] = proc.stdout[-2000:]
    result["lineage"] = _import_manifest(ws.dbt / "target" / "manifest.json")
    return result


def _import_manifest(manifest: Path) -> dict[str, Any] | str:
    """dbt's sources, models and exposures into lineage, linked to the Iceberg tables the runs wrote."""
    try:
        return record_lineage(load_manifest(manifest), LineageTracker())
    except DativoError as exc:
        return f"not imported: {exc}"


def _lineage(ws: Workspace) -> list[str]:
    """Each source's downstream graph as text-tree lines (branches stay branches), then the contract each
    of its validation steps applies (``asset://...  (applies) -> transformation://...``)."""
    tracker = LineageTracker(workspace=ws)
    lines: list[str] = []
    for source in SOURCES:
        if source not in tracker.nodes:
            continue
        ids = {source} | {e["node"]["id"] for e in tracker.get_downstream_lineage(source, max_depth=12)}
        edges = tracker.repository.edges(sorted(ids))
        lines.extend(to_tree(source, [e for e in edges if e.from_id in ids and e.to_id in ids]))
        lines.extend(
            f"{e.from_id}  ({e.edge_type}) -> {e.to_id}"
            for e in edges
            if e.edge_type == "applies" and e.to_id in ids
        )
    return lines
