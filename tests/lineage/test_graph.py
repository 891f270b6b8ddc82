"""The persisted graph on SQLite and PostgreSQL: ids, edges, views, traversal, runs, migration."""

from __future__ import annotations

import re

import pytest

from dativo_ingest.errors import NotFoundError, UsageError
from dativo_ingest.lineage import LineageEdge, LineageTracker
from dativo_ingest.store.database import MetadataStore
from tests.lineage.conftest import build_pipeline


def test_node_ids_are_stable_and_typed(tracker: LineageTracker, asset) -> None:
    nodes = build_pipeline(tracker, asset)
    assert nodes["source"].id == "source://stripe/customers"
    assert nodes["asset"].id == "asset://stripe/customers@1.0.0"
    assert nodes["step"].id == "transformation://stripe/customers/schema_validation"
    assert nodes["target"].id == "target://iceberg/bronze/stripe_customers"
    assert tracker.add_dbt_model_node("model.shop.stg_customers").id == "dbt://model.shop.stg_customers"
    assert tracker.add_dbt_model_node("stg_orders").id == "dbt://model.stg_orders"
    assert tracker.add_exposure_node("revenue_dashboard").id == "dbt://exposure.revenue_dashboard"
    src = tracker.add_dbt_source_node("raw_stripe", "customers", project="shop")
    assert src.id == "dbt://source.shop.raw_stripe.customers"
    assert [n.kind for n in tracker.session_nodes][:4] == ["source", "asset", "transformation", "target"]


def test_asset_node_carries_the_contract(tracker: LineageTracker, asset) -> None:
    node = tracker.add_asset_node(asset)
    attrs = tracker.nodes[node.id].attributes
    assert attrs["owner"] == "data-team@company.com"
    assert [f["name"] for f in attrs["fields"]] == ["id", "email", "created_at"]
    assert attrs["classifications"] == ["PII", "SENSITIVE"]
    assert attrs["roles"] == [{"role": "Data Steward", "email": "steward@company.com"}]


def test_re_adding_a_node_merges_attributes(tracker: LineageTracker) -> None:
    tracker.add_source_node("pg", "orders", connection={"host": "db1"})
    tracker.add_source_node("pg", "orders", note="again")
    attrs = tracker.nodes["source://pg/orders"].attributes
    assert attrs["connection"] == {"host": "db1"} and attrs["note"] == "again"
    assert len(tracker.nodes) == 1


def test_add_edge_accepts_ids_is_idempotent_and_checks_ends(tracker: LineageTracker, asset) -> None:
    nodes = build_pipeline(tracker, asset)
    tracker.add_edge("source://stripe/customers", nodes["asset"].id, "validates_against")
    assert len(tracker.edges) == 3
    assert LineageEdge(nodes["step"].id, nodes["target"].id, "writes_to") in tracker.edges
    assert LineageEdge(nodes["target"].id, nodes["step"].id, "writes_to") not in tracker.edges
    with pytest.raises(NotFoundError, match="unknown lineage node 'source://nope/x'"):
        tracker.add_edge("source://nope/x", nodes["asset"])
    with pytest.raises(UsageError):
        tracker.add_edge(nodes["source"], nodes["asset"], " ")
    with pytest.raises(UsageError, match="source_type"):
        tracker.add_source_node("", "x")


def test_traversal_both_directions_with_depths(tracker: LineageTracker, asset) -> None:
    build_pipeline(tracker, asset)
    down = tracker.get_downstream_lineage("source://stripe/customers")
    assert [(r["node"]["id"], r["depth"]) for r in down] == [
        ("asset://stripe/customers@1.0.0", 1),
        ("transformation://stripe/customers/schema_validation", 2),
        ("target://iceberg/bronze/stripe_customers", 3),
    ]
    assert down[2]["edge"] == {
        "from": "transformation://stripe/customers/schema_validation",
        "to": "target://iceberg/bronze/stripe_customers",
        "type": "writes_to",
        "attributes": {},
    }
    up = tracker.get_upstream_lineage("target://iceberg/bronze/stripe_customers", max_depth=2)
    assert [r["node"]["id"] for r in up] == [
        "transformation://stripe/customers/schema_validation",
        "asset://stripe/customers@1.0.0",
    ]
    assert tracker.get_downstream_lineage("source://stripe/customers", max_depth=0) == []
    with pytest.raises(NotFoundError):
        tracker.get_downstream_lineage("source://missing/x")


def test_diamonds_report_smallest_depth_and_cycles_terminate(tracker: LineageTracker) -> None:
    a, b, c, d = (tracker.add_dbt_model_node(n) for n in "abcd")
    tracker.add_edge(a, b)
    tracker.add_edge(b, c)
    tracker.add_edge(a, c)
    tracker.add_edge(c, d)
    tracker.add_edge(d, a)  # cycle back to the start
    down = tracker.get_downstream_lineage(a, max_depth=50)
    assert {r["node"]["id"]: r["depth"] for r in down} == {
        "dbt://model.b": 1,
        "dbt://model.c": 1,
        "dbt://model.d": 2,
    }  # the start node itself is never listed, even when a cycle leads back to it


def test_record_run_shape_and_fresh_ids(tracker: LineageTracker, asset) -> None:
    build_pipeline(tracker, asset)
    first = tracker.record_run("acme", "stripe-customers-ingest", "success", {"records_processed": 10000})
    second = tracker.record_run("acme", "stripe-customers-ingest", "success")
    assert set(first) == {
        "run_id",
        "tenant_id",
        "job_name",
        "status",
        "timestamp",
        "nodes",
        "edges",
        "metrics",
    }
    assert first["run_id"] != second["run_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", first["run_id"])
    assert first["metrics"] == {"records_processed": 10000}
    assert len(first["nodes"]) == 4 and len(first["edges"]) == 3
    assert first["timestamp"].endswith("Z")
    stored = tracker.runs("stripe-customers-ingest")
    assert {r["run_id"] for r in stored} == {first["run_id"], second["run_id"]}
    with pytest.raises(UsageError, match="unknown run status 'meh'"):
        tracker.record_run("acme", "x", "meh")


def test_start_then_finish_share_one_run_id(tracker: LineageTracker, asset) -> None:
    build_pipeline(tracker, asset)
    started = tracker.start_run("acme", "job")
    finished = tracker.record_run("acme", "job", "failed", error="source timed out")
    assert finished["run_id"] == started["run_id"]
    events = {r["event_type"] for r in tracker.runs("job")}
    assert events == {"START", "FAIL"}
    assert tracker.record_run("acme", "job", "success")["run_id"] != started["run_id"]


def test_graph_survives_a_new_tracker_and_store(store_url: str, workspace, asset) -> None:
    first = LineageTracker(store_url, workspace=workspace, openlineage=False)
    build_pipeline(first, asset)
    MetadataStore.dispose_all()
    again = LineageTracker(store_url, workspace=workspace, openlineage=False)
    assert len(again.nodes) == 4
    assert [r["depth"] for r in again.get_downstream_lineage("source://stripe/customers")] == [1, 2, 3]
    assert MetadataStore(store_url).versions()["lineage"] >= 1


def test_constructing_a_tracker_writes_nothing(workspace) -> None:
    LineageTracker()
    assert not (workspace / ".dativo").exists()
