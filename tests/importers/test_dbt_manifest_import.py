"""The jaffle_like dbt project's manifest (made by real dbt) imports as one contract per model, seed,
snapshot and source: descriptions, tags, meta, and dbt tests mapped back to checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.validation import validate_asset
from tests.dbt.dbt_runner import run_dbt
from tests.importers.helpers import field, import_all_formats, run

FIXTURE = Path(__file__).parents[1] / "dbt" / "fixtures" / "jaffle_like"
EXTRA_TESTS = """
version: 2
models:
  - name: stg_orders
    description: Orders, cleaned
    config:
      tags: [staging]
      meta: {owner: data-team}
    columns:
      - name: order_id
        description: The order
        data_tests: [not_null, unique]
      - name: customer_id
        meta: {pii: false}
        tags: [key]
        data_tests:
          - relationships:
              arguments: {to: "ref('stg_customers')", field: customer_id}
      - name: status
        data_tests:
          - accepted_values:
              arguments: {values: [placed, shipped, completed, return_pending, returned]}
          - dbt_utils.not_a_real_test
"""


def _project(tmp_path_factory: pytest.TempPathFactory, name: str, *, extra_tests: bool) -> Path:
    project = tmp_path_factory.mktemp(name) / "project"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("expected_lineage.yml"))
    if extra_tests:  # parse only: the made-up dbt_utils test has no macro to run
        (project / "models" / "staging" / "_import_tests.yml").write_text(EXTRA_TESTS)
    (project / "macros" / "not_a_real_test.sql").write_text(
        "{% test not_a_real_test(model, column_name) %}select 1 where false{% endtest %}\n"
    )
    (project / "profiles.yml").write_text(
        "jaffle_like:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {(project / 'jaffle.duckdb').as_posix()}\n      threads: 1\n"
    )
    return project


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A parse-only manifest: no compiled SQL, no catalog."""
    project = _project(tmp_path_factory, "jaffle_import", extra_tests=True)
    result = run_dbt(project, "parse")
    assert result.success, result.exception
    return project / "target" / "manifest.json"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built project with ``catalog.json`` (``dbt build`` + ``dbt docs generate``)."""
    project = _project(tmp_path_factory, "jaffle_import_built", extra_tests=False)
    with duckdb.connect(str(project / "jaffle.duckdb")) as con:
        con.execute((project / "setup.sql").read_text())
    for command in (("build",), ("docs", "generate")):
        result = run_dbt(project, *command)
        assert result.success, (result.exception, result.failed())
    return project


@pytest.mark.dbt
def test_dbt_models_and_sources_become_contracts(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = import_all_formats(capsys, tmp_path / "out", "--from", "dbt", str(manifest))
    assert {
        "model.orders.yaml",
        "model.stg_orders.yaml",
        "source.ecom.stores.yaml",
        "seed.raw_orders.yaml",
        "snapshot.customers_snapshot.yaml",
    } <= set(docs)
    orders = docs["model.orders.yaml"]
    assert orders["schema"][0]["description"] == "One row per order"
    assert field(orders, "order_id")["required"] is True and field(orders, "order_id")["unique"] is True
    stores = docs["source.ecom.stores.yaml"]
    assert field(stores, "id")["required"] is True
    staged = docs["model.stg_orders.yaml"]
    assert staged["tags"] == ["staging"] and staged["schema"][0]["tags"] == ["staging"]
    custom = {c["property"]: c["value"] for c in staged["schema"][0]["customProperties"]}
    assert custom["dativo.dbt_meta"] == {"owner": "data-team"}
    assert field(staged, "order_id")["description"] == "The order"
    customer = field(staged, "customer_id")
    assert customer["tags"] == ["key"]
    assert customer["customProperties"] == [{"property": "dativo.dbt_meta", "value": {"pii": False}}]
    assert field(staged, "status")["logicalTypeOptions"]["enum"] == [
        "placed",
        "shipped",
        "completed",
        "return_pending",
        "returned",
    ]
    assert staged["data_quality"]["expectations"] == [
        {"type": "relationships", "column": "customer_id", "to": "stg_customers", "field": "customer_id"}
    ]


@pytest.mark.dbt
def test_a_dbt_test_without_a_counterpart_is_a_warning(
    manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--from", "dbt", str(manifest), "--table", "stg_orders")
    assert code == 0
    assert "warning: model.stg_orders: dbt test dbt_utils.not_a_real_test" in err
    assert "has no dativo check counterpart" in err


@pytest.mark.dbt
def test_catalog_types_and_an_owner_make_valid_governed_contracts(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, _, err = run(capsys, "--from", "dbt", str(built), "--owner", "data@example.com", "--out", str(out))
    assert code == 0, err
    orders = AssetDefinition.from_yaml(out / "model.orders.yaml")
    types = {f.name: (f.type, f.physical_type) for f in orders.fields}
    assert types["order_id"][0] in ("integer", "long") and types["order_id"][1]
    assert all(kind for kind, _ in types.values()), types
    assert orders.servers == [{"server": "duckdb", "type": "duckdb", "database": "jaffle", "schema": "main"}]
    # an ephemeral model is in no catalog: its columns' types are unknown, and the import says so
    assert "warning: model.int_order_payments: no type known for order_id" in err
    for path in sorted(out.glob("*.yaml")):
        if path.name != "model.int_order_payments.yaml":
            assert validate_asset(AssetDefinition.from_yaml(path)).errors == [], path
