"""Code written against the seed's reference implementation of the spec runs unchanged: its constructor
keywords, attribute names and answers are accepted alongside ours, through the public faces.

One test per part of that API (lineage tracker, lineage values, the policy guard's access check, the AI
context API's components and FinOps answer, contract validation, dbt source naming and the singular
schema test, the last one proven by real dbt).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from dativo_ingest.config import AssetDefinition
from tests.conftest import STRIPE_CONTRACT


@pytest.fixture
def asset() -> AssetDefinition:
    return AssetDefinition.from_yaml(STRIPE_CONTRACT)


def test_lineage_tracker_in_a_lineage_dir_keeps_its_own_graph_there(
    workspace: Path, tmp_path: Path, asset: AssetDefinition
) -> None:
    from dativo_ingest.lineage import LineageTracker

    folder = tmp_path / "lineage"
    tracker = LineageTracker(lineage_dir=folder)
    assert tracker.lineage_dir == folder
    assert len(tracker.nodes) == 0 and len(tracker.edges) == 0

    source = tracker.add_source_node(source_type="stripe", object_name="customers")
    assert source.node_type == "source" and source.name == "stripe.customers"
    contract = tracker.add_asset_node(asset)
    assert contract.node_type == "asset" and contract.version == "1.0.0"
    step = tracker.add_transformation_node(
        transformation_name="schema_validation", transformation_type="validation"
    )
    assert step.node_type == "transformation" and step.name == "schema_validation"
    target = tracker.add_target_node(target_type="iceberg", catalog="bronze", table_name="customers")
    assert target.node_type == "target" and target.name == "bronze.customers"
    edge = tracker.add_edge(source, contract)
    assert (edge.from_node_id, edge.to_node_id) == (source.node_id, contract.node_id)
    assert edge.edge_type == "depends_on"
    tracker.add_edge(contract, step, "applies")
    tracker.add_edge(step, target, "writes_to")

    assert len(tracker.nodes) == 4 and len(tracker.edges) == 3
    assert set(tracker.nodes) == {source.id, contract.id, step.id, target.id}
    # ids are ours, whichever way the node was asked for
    assert source.id == "source://stripe/customers" and contract.id == "asset://stripe/customers@1.0.0"
    assert step.id == "transformation://stripe/customers/schema_validation"
    assert target.id == "target://iceberg/bronze/customers"
    assert tracker.add_source_node("stripe", "customers").id == source.id  # the spec's positional form
    assert tracker.add_target_node("iceberg", "bronze", "customers").id == target.id

    assert len(LineageTracker(lineage_dir=folder).nodes) == 4  # persisted in that folder
    assert (folder / "lineage.db").is_file()
    assert len(LineageTracker().nodes) == 0  # the workspace's store was not touched


def test_lineage_nodes_and_edges_construct_with_reference_keywords() -> None:
    from dativo_ingest.lineage import LineageEdge, LineageNode

    node = LineageNode(node_id="source://stripe/customers", node_type="source", name="stripe.customers")
    assert (node.node_id, node.id, node.node_type, node.kind) == (
        "source://stripe/customers",
        "source://stripe/customers",
        "source",
        "source",
    )
    assert node.name == "stripe.customers" and node.version is None
    versioned = LineageNode(
        node_id="asset://stripe/customers@1.0.0", node_type="asset", name="c", version="1.0.0"
    )
    assert versioned.version == "1.0.0"
    data = node.to_dict()
    assert data["node_id"] == node.id and data["node_type"] == "source" and data["timestamp"]
    assert (data["id"], data["type"]) == (node.id, "source")  # our keys stay
    assert LineageNode("source://stripe/customers", "source", "stripe.customers") == node

    edge = LineageEdge(from_node_id="a", to_node_id="b", edge_type="writes_to")
    assert (edge.from_node_id, edge.to_node_id, edge.edge_type) == ("a", "b", "writes_to")
    assert edge == LineageEdge("a", "b", "writes_to")


def test_check_access_answers_whether_the_requester_may_see_it_in_full(
    workspace: Path, asset: AssetDefinition
) -> None:
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.contracts import ContractManager
    from dativo_ingest.store import audit
    from dativo_ingest.store.database import MetadataStore

    store = MetadataStore.for_workspace()
    guard = PolicyGuard(
        {
            "allowed_requesters": ["ai-agent-1", "admin-bot"],
            "restricted_classifications": ["PII", "SENSITIVE"],
            "elevated_requesters": ["admin-bot"],
        },
        store=store,
    )
    assert guard.check_access("asset", "stripe/customers", "ai-agent-1") == (True, None)
    allowed, reason = guard.check_access("asset", "stripe/customers", "ai-agent-1", classification="PII")
    assert allowed is False and "PII" in str(reason) and "not elevated" in str(reason)
    assert guard.check_access("asset", "stripe/customers", "admin-bot", ["PII"]) == (True, None)
    assert guard.check_access("asset", "stripe/customers", "stranger")[0] is False
    rows = audit.query(store, action="check_access")
    assert sorted((r["requester"], r["allowed"]) for r in rows) == [
        ("admin-bot", True),
        ("ai-agent-1", False),
        ("ai-agent-1", True),
        ("stranger", False),
    ]

    # the context API still serves that requester the redacted view
    ContractManager(specs_dir=workspace / "specs").save_contract(contract=asset, author="me@x.com")
    context = AIContextAPI(policy_guard=guard).get_asset_context(
        "stripe", "customers", requester="ai-agent-1"
    )
    assert context["schema"]["restricted_fields"] == ["email"]


def test_ai_context_api_exposes_its_components_and_finops_context(workspace: Path) -> None:
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.contracts import ContractManager
    from dativo_ingest.finops import FinOpsMetrics
    from dativo_ingest.lineage import LineageTracker

    api = AIContextAPI()
    assert isinstance(api.contract_manager, ContractManager)
    assert isinstance(api.lineage_tracker, LineageTracker)
    assert isinstance(api.policy_guard, PolicyGuard)
    manager, tracker, guard = ContractManager(specs_dir=workspace / "other"), LineageTracker(), PolicyGuard()
    given = AIContextAPI(contract_manager=manager, lineage_tracker=tracker, policy_guard=guard)
    assert (given.contract_manager, given.lineage_tracker, given.policy_guard) == (manager, tracker, guard)

    finops = FinOpsMetrics(tenant_id="acme", job_name="stripe-customers-ingest")
    finops.start()
    finops.record_cpu_time(120.5)
    finops.record_api_calls(1000, api_type="stripe")
    finops.finish()
    context: Any = api.get_finops_context("acme", requester="ai-agent-1")
    assert context["cost_summary"]["run_count"] == 1 and context["cost_summary"]["total_cost_usd"] > 0
    assert context["resource_usage"]["cpu_time_sec"] == pytest.approx(120.5)
    assert context["resource_usage"]["api_calls_count"] == 1000


def test_validate_contract_reports_an_empty_schema(workspace: Path) -> None:
    from dativo_ingest.contracts import ContractManager

    empty = AssetDefinition(
        name="stripe_customers",
        version="1.0.0",
        source_type="stripe",
        object="customers",
        team={"owner": "data-team@company.com"},
        schema=[],
    )
    valid, errors = ContractManager(specs_dir=workspace / "specs").validate_contract(empty)
    assert valid is False
    assert any("Schema cannot be empty" in e for e in errors)


def test_source_yaml_without_a_catalog_name_is_named_after_the_source_type(asset: AssetDefinition) -> None:
    from dativo_ingest.dbt_integration import DBTGenerator

    generator = DBTGenerator()
    assert generator.generate_source_yaml(asset)["sources"][0]["name"] == "stripe"
    assert "{{ source('stripe', 'customers') }}" in generator.generate_staging_sql(asset)  # the same source
    assert generator.generate_source_yaml(asset, "raw_stripe")["sources"][0]["name"] == "raw_stripe"
    assert DBTGenerator().generate_staging_sql(asset).count("source('raw_stripe', 'customers')") == 1


def test_schema_test_selects_rows_breaking_required_and_unique_columns(asset: AssetDefinition) -> None:
    from dativo_ingest.dbt_integration import DBTGenerator

    sql = DBTGenerator().generate_schema_test(asset)
    assert "{{ source('stripe', 'customers') }}" in sql
    for column in ("id", "email", "created_at"):  # required in the contract
        assert f"where {column} is null" in sql
    assert "where id is not null group by id having count(*) > 1" in sql  # unique
    assert "group by email" not in sql  # email is not unique


BAD_ROWS = "('c1', 'a@x.io', now()), ('c1', 'b@x.io', now()), ('c2', null, now())"
GOOD_ROWS = "('c1', 'a@x.io', now()), ('c2', 'b@x.io', now())"


def _load(database: Path, rows: str) -> None:
    with duckdb.connect(str(database)) as con:
        con.execute("create schema if not exists stripe")
        con.execute(
            "create or replace table stripe.customers as "
            f"select * from (values {rows}) t(id, email, created_at)"
        )


@pytest.mark.dbt
def test_schema_test_fails_on_a_null_and_a_duplicate_and_passes_on_good_data(
    tmp_path: Path, asset: AssetDefinition
) -> None:
    from dativo_ingest.dbt_integration import DBTGenerator, ProjectConfig
    from tests.dbt.dbt_runner import run_dbt

    out = tmp_path / "dbt"
    generator = DBTGenerator(output_dir=out)
    generator.generate_project([asset], ProjectConfig(project_name="refapi", input="duckdb"))
    (out / "models" / "reference_sources.yml").write_text(
        yaml.safe_dump(generator.generate_source_yaml(asset))
    )
    (out / "tests").mkdir(exist_ok=True)
    (out / "tests" / "stripe_customers_contract.sql").write_text(generator.generate_schema_test(asset))
    test_id = "test.refapi.stripe_customers_contract"

    _load(out / "dativo.duckdb", BAD_ROWS)
    bad = run_dbt(out, "test", "--select", "stripe_customers_contract")
    assert not bad.success and bad.statuses == {test_id: "fail"}, (bad.exception, bad.statuses)
    _load(out / "dativo.duckdb", GOOD_ROWS)
    good = run_dbt(out, "test", "--select", "stripe_customers_contract")
    assert good.success and good.statuses == {test_id: "pass"}, (good.exception, good.statuses)
