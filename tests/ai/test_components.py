"""Lineage, FinOps and dbt names in the context, from the real components (the spec's Quick Start steps
4 and 5)."""

from __future__ import annotations

from tests.ai.conftest import audit_rows


def test_context_carries_lineage_and_recent_cost(stripe_registered, stripe_asset, store):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.finops import FinOpsMetrics
    from dativo_ingest.lineage import LineageTracker

    tracker = LineageTracker()
    source_node = tracker.add_source_node("stripe", "customers")
    asset_node = tracker.add_asset_node(stripe_asset)
    transform_node = tracker.add_transformation_node("schema_validation")
    target_node = tracker.add_target_node("iceberg", "bronze", "stripe_customers")
    tracker.add_edge(source_node, asset_node, "validates_against")
    tracker.add_edge(asset_node, transform_node, "applies")
    tracker.add_edge(transform_node, target_node, "writes_to")
    tracker.record_run(tenant_id="acme", job_name="stripe-customers-ingest", status="success")
    finops = FinOpsMetrics(tenant_id="acme", job_name="stripe-customers-ingest", cost_center="analytics")
    finops.start()
    finops.record_cpu_time(120.5)
    finops.record_data_ingested(1024**3)
    finops.record_api_calls(1000, api_type="stripe")
    summary = finops.finish()

    api = AIContextAPI(policy_guard=PolicyGuard({"allowed_requesters": ["ai-agent-1"]}))
    context = api.get_asset_context("stripe", "customers", requester="ai-agent-1")
    assert [n["id"] for n in context["lineage"]["upstream"]] == [source_node.id]
    assert {n["id"] for n in context["lineage"]["downstream"]} == {transform_node.id, target_node.id}
    # lineage nodes copy contract fields into their attributes; none of that may come through
    assert "Customer email address" not in str(context)
    costs = context["finops"]
    assert costs["run_count"] == 1 and costs["by_job"][0]["job_name"] == "stripe-customers-ingest"
    assert abs(costs["total_cost_usd"] - summary["cost_breakdown_usd"]["total"]) < 1e-6

    lineage = api.get_lineage_context("stripe", "customers", requester="ai-agent-1", max_depth=1)
    assert [n["id"] for n in lineage["downstream"]] == [transform_node.id]
    tenant = api.get_finops_context("acme", 24, requester="ai-agent-1")
    assert tenant["run_count"] == 1
    assert [r["action"] for r in audit_rows(store)] == ["get_asset_context", "get_lineage", "get_finops"]


def test_tenant_scoped_requester_sees_only_its_tenants(stripe_registered, registry, store):
    import pytest

    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from tests.ai.conftest import make_asset

    registry.save_contract(make_asset("erp", "invoices", [{"name": "id", "type": "string"}], tenant="globex"))
    api = AIContextAPI(policy_guard=PolicyGuard({"requester_tenants": {"acme-bot": ["acme"]}}))
    assert api.get_asset_context("stripe", "customers", requester="acme-bot")["asset"]["tenant"] is None
    from dativo_ingest.errors import ContractNotFoundError

    with pytest.raises(ContractNotFoundError, match=r"no contract erp/invoices$"):  # same as unknown
        api.get_asset_context("erp", "invoices", requester="acme-bot")
    row = audit_rows(store, requester="acme-bot")[-1]
    assert row["outcome"] == "denied" and "tenant 'globex'" in row["reason"]
    assert [h["object"] for h in api.search_assets(requester="acme-bot", limit=10)] == ["customers"]
    with pytest.raises(PermissionError):
        api.get_finops_context(None, 24, requester="acme-bot")
    with pytest.raises(PermissionError):
        api.get_finops_context("globex", 24, requester="acme-bot")
    assert api.get_finops_context("acme", 24, requester="acme-bot")["run_count"] == 0


def test_context_dbt_names_are_the_generators(stripe_registered, stripe_asset, store):
    from dativo_ingest.ai_context_api import AIContextAPI
    from dativo_ingest.dbt.node_names import default_model_name

    dbt = AIContextAPI().get_asset_context("stripe", "customers", requester="ai-agent-1")["dbt"]
    assert dbt["staging_model"] == default_model_name(stripe_asset) == "stg_stripe__customers"
    assert dbt["source_ref"] == "source('raw_stripe', 'customers')"


def test_unknown_nodes_are_answered_from_the_node_list_only_for_a_lineage_tracker(store):
    from dativo_ingest.context.sources import LineageCache, default_lineage

    tracker = default_lineage(store)
    walked: list[str] = []
    empty = {"available": True, "upstream": [], "downstream": []}

    class Subclass(type(tracker)):  # a subclass is a tracker: its node list answers, no walk
        def get_upstream_lineage(self, node_id: str, **kwargs):
            walked.append(node_id)
            return super().get_upstream_lineage(node_id, **kwargs)

    assert LineageCache().get(Subclass(store), "source://nowhere/none", 3) == empty
    assert walked == []

    class LineageTracker:  # same name, not the real tracker: its graph is walked, never listed
        repository = tracker.repository

        def get_upstream_lineage(self, node_id: str, max_depth: int):
            walked.append(node_id)
            return []

        def get_downstream_lineage(self, node_id: str, max_depth: int):
            return []

    assert LineageCache().get(LineageTracker(), "source://nowhere/none", 3) == empty
    assert walked == ["source://nowhere/none"]
