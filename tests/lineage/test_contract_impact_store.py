"""The store side of the PR gate's impact: jobs that loaded a contract, model owners, consumers and
costs read back, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from dativo_ingest.config import AssetDefinition
from dativo_ingest.dbt.manifest import parse_manifest, record_lineage
from dativo_ingest.finops import FinOpsMetrics
from dativo_ingest.lineage import LineageTracker
from dativo_ingest.registry.impact import ImpactReader


def _load(store_url: str, workspace: Path, tenant: str, job: str, source: str, obj: str) -> None:
    """What an ingestion run records: its graph with the contract version, then its cost."""
    tracker = LineageTracker(store_url, workspace=workspace, openlineage=False)
    asset = AssetDefinition(source_type=source, object=obj, schema=[{"name": "id", "type": "string"}])
    tracker.add_source_node(source, obj)
    tracker.add_asset_node(asset)
    tracker.record_run(tenant, job, "complete")
    finops = FinOpsMetrics(tenant, job, store=store_url).start()
    finops.record_cpu_time(120.0)
    finops.record_data_ingested(10**9)
    finops.finish()


def test_jobs_loading_a_contract_are_found_by_its_asset_nodes(store_url: str, workspace: Path) -> None:
    _load(store_url, workspace, "acme", "orders-daily", "shop", "order_s")
    _load(store_url, workspace, "acme", "orders-hourly", "shop", "order_s")
    _load(store_url, workspace, "acme", "other", "shop", "orderXs")  # `_` is not a LIKE wildcard here
    tracker = LineageTracker(store_url, workspace=workspace, openlineage=False)
    jobs = tracker.repository.jobs_with_node_prefix("asset://shop/order_s@")
    assert jobs == [("acme", "orders-daily"), ("acme", "orders-hourly")]

    impact = ImpactReader(store_url).impact("shop", "order_s", {"id": ["id:type_changed"]}, date.today())
    assert [(j.job_name, j.runs) for j in impact.jobs] == [("orders-daily", 1), ("orders-hourly", 1)]
    assert impact.cost_usd == sum((j.cost_usd for j in impact.jobs), Decimal(0)) > 0
    long_ago = ImpactReader(store_url).impact("shop", "order_s", {}, date.today() - timedelta(days=40))
    assert [j.runs for j in long_ago.jobs] == [0, 0]  # outside the 30-day window
    assert long_ago.until == (date.today() - timedelta(days=39)).isoformat() + "T00:00:00Z"


def test_model_owners_come_from_meta_or_their_group(store_url: str, workspace: Path) -> None:
    source = "source.shop.raw_shop.orders"
    manifest = {
        "metadata": {"project_name": "shop", "adapter_type": "duckdb"},
        "groups": {
            "group.shop.finance": {"name": "finance", "owner": {"name": "Finance", "email": "fin@x.com"}}
        },
        "sources": {
            source: {
                "name": "orders",
                "source_name": "raw_shop",
                "columns": {"id": {}, "amount": {}},
                "config": {"meta": {"source_type": "shop", "object": "orders"}},
            }
        },
        "nodes": {
            "model.shop.revenue": {
                "resource_type": "model",
                "name": "revenue",
                "group": "finance",
                "depends_on": {"nodes": [source]},
                "raw_code": "select amount from {{ source('raw_shop', 'orders') }}",
            },
            "model.shop.audit": {
                "resource_type": "model",
                "name": "audit",
                "group": "finance",
                "config": {"meta": {"owner": "audit@x.com"}},
                "depends_on": {"nodes": [source]},
                "raw_code": "select id, amount from {{ source('raw_shop', 'orders') }}",
            },
        },
    }
    tracker = LineageTracker(store_url, workspace=workspace, openlineage=False)
    record_lineage(parse_manifest(manifest), tracker)
    assert tracker.repository.get_node("dbt://model.shop.revenue").attributes["owner"] == "fin@x.com"
    assert tracker.repository.get_node("dbt://model.shop.audit").attributes["owner"] == "audit@x.com"

    impact = ImpactReader(store_url).impact(
        "shop", "orders", {"amount": ["amount:type_changed"]}, date.today()
    )
    assert [(c.unique_id, c.owner, c.columns) for c in impact.consumers] == [
        ("model.shop.audit", "audit@x.com", ("amount",)),
        ("model.shop.revenue", "fin@x.com", ("amount",)),
    ]
    only_id = ImpactReader(store_url).impact("shop", "orders", {"id": ["id:field_removed"]}, date.today())
    assert [c.unique_id for c in only_id.consumers] == ["model.shop.audit"]
    assert only_id.known and only_id.jobs == []
