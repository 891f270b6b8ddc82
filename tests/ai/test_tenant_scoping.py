"""Tenant scoping over HTTP and MCP: lineage withholds other tenants' nodes, another tenant's asset is
answered like an unknown one, and errors carry no server paths."""

from __future__ import annotations

import json

import anyio
import pytest
from fastapi.testclient import TestClient

from tests.ai.conftest import audit_rows, make_asset

POLICY = {
    "allowed_requesters": ["ai-agent-1", "globex-bot", "acme-bot"],
    "requester_tenants": {"globex-bot": ["globex"], "acme-bot": ["acme"]},
}


@pytest.fixture
def acme_lineage(stripe_registered, stripe_asset, registry, store):
    """Stripe customers (no tenant) ingested by an acme job into a table a dbt model reads; and a globex
    contract ingested by a globex job."""
    from dativo_ingest.lineage import LineageTracker

    registry.save_contract(make_asset("erp", "invoices", [{"name": "id", "type": "string"}], tenant="globex"))
    registry.save_contract(make_asset("shop", "orders", [{"name": "id", "type": "string"}], tenant="acme"))
    tracker = LineageTracker()
    source = tracker.add_source_node("stripe", "customers")
    asset = tracker.add_asset_node(stripe_asset)
    step = tracker.add_transformation_node("schema_validation", scope="acme/stripe-customers-ingest")
    target = tracker.add_target_node("iceberg", "bronze", "stripe_customers")
    tracker.add_edge(source, asset, "validates_against")
    tracker.add_edge(asset, step, "applies")
    tracker.add_edge(step, target, "writes_to")
    tracker.record_run(tenant_id="acme", job_name="stripe-customers-ingest", status="success")
    model = LineageTracker().add_dbt_model_node("model.acme_shop.stg_customers_secret")
    LineageTracker().add_edge(target, model, "depends_on")
    return {"source": source.id, "step": step.id, "target": target.id, "model": model.id}


@pytest.fixture
def client(acme_lineage, store):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.server.http import create_app
    from dativo_ingest.server.keys import create_key

    keys = {n: create_key(store, n)[1] for n in ("globex-bot", "acme-bot", "ai-agent-1")}
    app = create_app(AIContextAPI(policy_guard=PolicyGuard(POLICY), channel="http"), mcp=False)
    with TestClient(app) as c:
        c.keys = keys
        yield c


def _get(client, who, path):
    return client.get(path, headers={"Authorization": f"Bearer {client.keys[who]}"})


def test_lineage_hides_other_tenants_nodes(client, acme_lineage):
    for path in ("/v1/assets/stripe/customers", "/v1/assets/stripe/customers/lineage"):
        r = _get(client, "globex-bot", path)
        assert r.status_code == 200, r.text
        body = r.json()
        lineage = body.get("lineage", body)
        assert lineage["upstream"] == [] and lineage["downstream"] == []
        assert lineage["withheld"] == 4
        assert "acme" not in r.text and "stg_customers_secret" not in r.text
        assert body.get("finops") is None  # acme's runs are not globex's cost
    r = _get(client, "acme-bot", "/v1/assets/stripe/customers/lineage")
    assert {n["id"] for n in r.json()["downstream"]} == {
        acme_lineage["step"],
        acme_lineage["target"],
        acme_lineage["model"],
    }
    assert r.json()["withheld"] == 0
    r = _get(client, "ai-agent-1", "/v1/assets/stripe/customers/lineage")  # not tenant-scoped
    assert [n["id"] for n in r.json()["upstream"]] == [acme_lineage["source"]]
    assert len(r.json()["downstream"]) == 3


def test_other_tenants_asset_is_answered_like_an_unknown_one(client, store, workspace):
    hidden = _get(client, "globex-bot", "/v1/assets/shop/orders")
    unknown = _get(client, "globex-bot", "/v1/assets/shop/nosuch")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == {
        "error": "ContractNotFoundError",
        "message": "no contract shop/orders",
        "field": "object",
    }
    assert unknown.json() == {**hidden.json(), "message": "no contract shop/nosuch"}
    assert _get(client, "globex-bot", "/v1/assets/shop/orders/lineage").json() == hidden.json()
    assert _get(client, "globex-bot", "/v1/assets/shop/orders?version=1.0.0").status_code == 404
    assert "acme" not in hidden.text and str(workspace) not in unknown.text
    assert _get(client, "acme-bot", "/v1/assets/shop/orders").status_code == 200
    rows = audit_rows(store, requester="globex-bot")
    assert [(r["resource_id"], r["outcome"]) for r in rows[:2]] == [
        ("shop/orders", "denied"),
        ("shop/nosuch", "not_found"),
    ]
    assert "tenant 'acme'" in rows[0]["reason"]
    assert all(str(workspace) not in json.dumps(r) for r in audit_rows(store))


def test_mcp_errors_carry_no_server_paths(acme_lineage, store, workspace):
    import mcp

    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.server.mcp import build_server

    api = AIContextAPI(policy_guard=PolicyGuard(POLICY), channel="mcp")

    async def main():
        async with mcp.Client(build_server(api, local_requester="globex-bot")) as client:
            texts = []
            for obj in ("nosuch", "orders"):
                result = await client.call_tool(
                    "get_asset_context", {"source_type": "shop", "object_name": obj}
                )
                assert result.is_error
                texts.append(result.content[0].text)
            return texts

    nosuch, orders = anyio.run(main)
    assert nosuch.endswith("no contract shop/nosuch") and orders.endswith("no contract shop/orders")
    assert str(workspace) not in nosuch + orders and "acme" not in orders
