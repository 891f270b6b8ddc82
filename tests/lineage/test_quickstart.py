"""The spec's Quick Start step 4, run as written in one process, read back from another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.lineage.conftest import QUICKSTART_ASSET

STEP_4 = f"""
from dativo_ingest.config import AssetDefinition
asset = AssetDefinition.from_yaml({str(QUICKSTART_ASSET)!r})

from dativo_ingest.lineage import LineageTracker

tracker = LineageTracker()

# Add nodes
source_node = tracker.add_source_node("stripe", "customers")
asset_node = tracker.add_asset_node(asset)
transform_node = tracker.add_transformation_node("schema_validation")
target_node = tracker.add_target_node("iceberg", "bronze", "stripe_customers")

# Add edges
tracker.add_edge(source_node, asset_node, "validates_against")
tracker.add_edge(asset_node, transform_node, "applies")
tracker.add_edge(transform_node, target_node, "writes_to")

# Record run
lineage_record = tracker.record_run(
    tenant_id="acme",
    job_name="stripe-customers-ingest",
    status="success",
    metrics={{"records_processed": 10000}}
)
import json
print(json.dumps(lineage_record))
"""

READ_BACK = """
import json
from dativo_ingest.lineage import LineageTracker
t = LineageTracker()
print(json.dumps({"down": t.get_downstream_lineage("source://stripe/customers"),
                  "runs": t.runs(), "nodes": len(t.nodes), "edges": len(t.edges)}))
"""


def _run(code: str, home: Path) -> dict:
    env = {**os.environ, "DATIVO_HOME": str(home)}
    env.pop("DATIVO_DATABASE_URL", None)
    env = {k: v for k, v in env.items() if not k.startswith("OPENLINEAGE")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=home, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_quick_start_step_4_persists_across_processes(workspace: Path) -> None:
    record = _run(STEP_4, workspace)
    assert record["tenant_id"] == "acme" and record["status"] == "success"
    assert (workspace / ".dativo" / "dativo.db").is_file()
    seen = _run(READ_BACK, workspace)
    assert [(r["node"]["id"], r["depth"]) for r in seen["down"]] == [
        ("asset://stripe/customers@1.0.0", 1),
        ("transformation://stripe/customers/schema_validation", 2),
        ("target://iceberg/bronze/stripe_customers", 3),
    ]
    assert seen["nodes"] == 4 and seen["edges"] == 3
    assert [r["run_id"] for r in seen["runs"]] == [record["run_id"]]
    again = _run(STEP_4, workspace)
    assert again["run_id"] != record["run_id"]
    assert _run(READ_BACK, workspace)["nodes"] == 4
