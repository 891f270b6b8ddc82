"""The dbt tests generated from a contract and ``contract test`` agree on the same rows: the same checks
fail, with the same counts (dbt's ``unique`` counts repeated values, ``contract test`` reports those as
``duplicated_values`` beside the repeated rows). The rows are one Parquet file read by dbt-duckdb and by
``contract test``, and the same rows in PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from dativo_ingest.attest.servers import from_contract
from dativo_ingest.attest.tester import test_contract as run_contract_test
from dativo_ingest.dbt.project import ProjectConfig
from dativo_ingest.dbt_integration import DBTGenerator
from dativo_ingest.registry.loading import load_contract
from tests.attest.conftest import EXPECTED, PROPERTIES, arrow_table
from tests.dbt.dbt_runner import run_dbt

pytestmark = pytest.mark.dbt


def _contract(root: Path, servers: list[dict[str, Any]]) -> Path:
    fields = [{"type" if k == "logicalType" else k: v for k, v in p.items()} for p in PROPERTIES]
    document = {
        "id": "roundtrip-orders",
        "name": "orders",
        "version": "1.0.0",
        "source_type": "roundtrip",
        "object": "orders",
        "team": {"owner": "data@example.com"},
        "servers": servers,
        "schema": fields,
    }
    path = root / "assets" / "orders.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _dbt_failures(root: Path, contract: Path) -> dict[str, int]:
    """Failing generated source tests as ``kind:column`` -> dbt's failure count."""
    out = root / "dbt"
    config = ProjectConfig(project_name="roundtrip", input="parquet", warehouse=root / "warehouse")
    DBTGenerator(output_dir=out).generate_project([load_contract(contract)], config)
    run_dbt(out, "test", "--select", "source:*")
    manifest = json.loads((out / "target" / "manifest.json").read_text())
    failures: dict[str, int] = {}
    for item in json.loads((out / "target" / "run_results.json").read_text())["results"]:
        node = manifest["nodes"][item["unique_id"]]
        if node["resource_type"] != "test" or item["status"] == "pass":
            continue
        name = node["test_metadata"]["name"].removeprefix("dativo_")
        failures[f"{KINDS.get(name, name)}:{node['column_name']}"] = item["failures"]
    return failures


KINDS = {"pattern": "regex", "matches_pattern": "regex", "value_length": "length", "between": "range"}


def _ours(report: Any) -> dict[str, int]:
    return {
        r.id: (r.duplicated_values if r.kind == "unique" else r.failed)
        for r in report.results
        if r.status == "failed"
    }


@pytest.fixture
def lake(workspace: Path) -> tuple[Path, Path]:
    data = workspace / "warehouse" / "roundtrip" / "orders" / "data.parquet"
    data.parent.mkdir(parents=True)
    pq.write_table(arrow_table().drop(["note"]), data)
    return workspace, data


def test_dbt_and_contract_test_fail_the_same_checks_on_parquet(lake: tuple[Path, Path]) -> None:
    root, data = lake
    contract = _contract(root, [{"server": "files", "type": "local", "path": str(data), "format": "parquet"}])
    asset = load_contract(contract)
    report = run_contract_test(
        asset, from_contract(asset, None, root, root / "warehouse"), record=False, lineage=False
    )
    dbt = _dbt_failures(root, contract)
    assert set(dbt) == set(EXPECTED)
    assert _ours(report) == dbt


@pytest.mark.postgres
@pytest.mark.parametrize("seeded", ["postgres"], indirect=True)
def test_dbt_on_parquet_and_contract_test_in_postgresql_agree(seeded, lake: tuple[Path, Path]) -> None:
    root, _ = lake
    server = {**seeded["server"], "table": seeded["table"]}
    contract = _contract(root, [server])
    asset = load_contract(contract)
    report = run_contract_test(
        asset, from_contract(asset, None, root, root / "warehouse"), record=False, lineage=False
    )
    assert _ours(report) == _dbt_failures(root, contract)
