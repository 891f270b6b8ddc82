"""Lineage end to end: ingestion's Iceberg targets feed dbt sources, staging models and dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dativo_ingest.dbt.manifest import parse_manifest, record_lineage
from dativo_ingest.lineage import LineageTracker
from dativo_ingest.lineage_graph.model import LineageEdge
from dativo_ingest.lineage_graph.render import to_tree
from tests.lineage.conftest import build_pipeline

SOURCE = "source.shop.raw_stripe.customers"
MODEL = "model.shop.stg_stripe__customers"
EXPOSURE = "exposure.shop.customer_health"
TARGET = "target://iceberg/bronze/stripe_customers"


def _manifest(meta: dict[str, Any]) -> dict[str, Any]:
    """A dbt-parse manifest: one contract source, a staging model reading id and email, one dashboard."""
    return {
        "metadata": {"project_name": "shop", "adapter_type": "duckdb"},
        "sources": {
            SOURCE: {
                "name": "customers",
                "source_name": "raw_stripe",
                "relation_name": '"shop"."raw_stripe"."customers"',
                "columns": {"id": {}, "email": {}, "created_at": {}},
                "config": {"meta": meta},
            }
        },
        "nodes": {
            MODEL: {
                "resource_type": "model",
                "name": "stg_stripe__customers",
                "relation_name": '"shop"."main"."stg_stripe__customers"',
                "columns": {"id": {}, "email_hash": {}},
                "depends_on": {"nodes": [SOURCE]},
                "raw_code": "select id, sha256(email) as email_hash\n"
                "from {{ source('raw_stripe', 'customers') }}",
            }
        },
        "exposures": {
            EXPOSURE: {"name": "customer_health", "type": "dashboard", "depends_on": {"nodes": [MODEL]}}
        },
    }


def _ids(found: list[dict[str, Any]]) -> list[str]:
    return [r["node"]["id"] for r in found]


@pytest.mark.parametrize(
    "meta",
    [
        {"source_type": "stripe", "object": "customers"},
        {"source_type": "stripe", "object": "customers", "iceberg_table": "bronze.stripe_customers"},
    ],
    ids=["contract-meta", "iceberg-table-meta"],
)
def test_manifest_import_links_dbt_sources_to_the_ingested_iceberg_table(
    tracker: LineageTracker, asset, meta: dict[str, Any]
) -> None:
    nodes = build_pipeline(tracker, asset)
    quarantine = tracker.add_target_node("iceberg", "bronze", "stripe_customers_quarantine")
    tracker.add_edge(nodes["step"], quarantine, "quarantines")
    counts = record_lineage(parse_manifest(_manifest(meta)), tracker)
    assert counts["targets_linked"] == 1  # the main table only, never the quarantine table
    edges = {(e.from_id, e.to_id, e.edge_type) for e in tracker.edges}
    assert (TARGET, f"dbt://{SOURCE}", "feeds") in edges
    assert (f"dbt://{SOURCE}", f"dbt://{MODEL}", "depends_on") in edges
    assert (f"dbt://{MODEL}", f"dbt://{EXPOSURE}", "exposes") in edges
    assert not any(e[0] == "source://stripe/customers" and e[1].startswith("dbt://") for e in edges)
    assert _ids(tracker.impact("stripe", "customers", "email")) == [f"dbt://{MODEL}", f"dbt://{EXPOSURE}"]
    assert tracker.impact("stripe", "customers", "email")[0]["columns"] == ["email_hash"]
    assert tracker.impact("stripe", "customers", "created_at") == []  # the model does not read it
    assert tracker.column_consumers("stripe", "customers", "email") == [MODEL]
    before = len(tracker.edges)
    record_lineage(parse_manifest(_manifest(meta)), tracker)  # re-import is idempotent
    assert len(tracker.edges) == before
    upstream = _ids(tracker.get_upstream_lineage(f"dbt://{EXPOSURE}"))
    assert upstream[:3] == [f"dbt://{MODEL}", f"dbt://{SOURCE}", TARGET]


def test_reimport_replaces_dependencies_the_manifest_no_longer_has(tracker: LineageTracker, asset) -> None:
    build_pipeline(tracker, asset)
    meta = {"source_type": "stripe", "object": "customers"}
    record_lineage(parse_manifest(_manifest(meta)), tracker)
    changed = _manifest(meta)
    changed["nodes"][MODEL]["raw_code"] = "select id from {{ source('raw_stripe', 'customers') }}"
    changed["exposures"][EXPOSURE]["depends_on"] = {"nodes": []}
    record_lineage(parse_manifest(changed), tracker)
    edges = {(e.from_id, e.to_id, e.edge_type) for e in tracker.edges}
    assert (f"dbt://{MODEL}", f"dbt://{EXPOSURE}", "exposes") not in edges
    assert tracker.column_consumers("stripe", "customers", "email") == []  # no longer read
    assert tracker.column_consumers("stripe", "customers", "id") == [MODEL]
    assert (TARGET, f"dbt://{SOURCE}", "feeds") in edges  # re-derived, not lost


def test_a_dbt_source_of_an_unknown_table_keeps_the_contract_shortcut(tracker: LineageTracker, asset) -> None:
    build_pipeline(tracker, asset)
    meta = {"source_type": "stripe", "object": "customers", "iceberg_table": "silver.elsewhere"}
    counts = record_lineage(parse_manifest(_manifest(meta)), tracker)
    assert counts["targets_linked"] == 0
    edges = {(e.from_id, e.to_id, e.edge_type) for e in tracker.edges}
    assert not any(e[0] == TARGET for e in edges)
    assert ("source://stripe/customers", f"dbt://{SOURCE}", "defines") in edges
    assert tracker.column_consumers("stripe", "customers", "email") == [MODEL]


def test_text_tree_keeps_siblings_as_branches() -> None:
    edges = [
        LineageEdge("s", "v", "applies"),
        LineageEdge("v", "t", "writes_to"),
        LineageEdge("v", "t_quarantine", "quarantines"),
        LineageEdge("t", "m", "feeds"),
        LineageEdge("m", "x", "exposes"),
        LineageEdge("t_quarantine", "x", "audits"),
    ]
    assert to_tree("s", edges) == [
        "s",
        "└─ v  (applies)",
        "   ├─ t  (writes_to)",
        "   │  └─ m  (feeds)",
        "   │     └─ x  (exposes)",
        "   └─ t_quarantine  (quarantines)",
        "      └─ x  (audits)  (see above)",
    ]


@pytest.mark.dbt
def test_demo_lineage_runs_from_source_to_dashboards(tmp_path: Path, monkeypatch) -> None:
    """The demo (runs + dbt parse + manifest import): impact of a contract column reaches the dashboards."""
    from dativo_ingest.demo import run_demo

    monkeypatch.delenv("DATIVO_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "demo"
    report = run_demo(root, dbt=False)
    assert report["dbt"]["parse"] == "passed", report["dbt"].get("log")
    assert report["dbt"]["lineage"]["targets_linked"] == 2
    tracker = LineageTracker(workspace=root)
    assert _ids(tracker.impact("stripe", "customers", "email")) == [
        "dbt://model.dativo.stg_stripe__customers",
        "dbt://exposure.dativo.customer_health",
        "dbt://exposure.dativo.revenue",
    ]
    assert "dbt://model.dativo.stg_shop__orders" not in _ids(tracker.impact("stripe", "customers", "email"))
    edges = {(e.from_id, e.to_id, e.edge_type) for e in tracker.edges}
    assert (TARGET, "dbt://source.dativo.raw_stripe.customers", "feeds") in edges
    assert not any(e[0] == TARGET and "quarantine" in e[1] for e in edges)  # a sibling, not downstream
    lines = report["lineage"]
    main = next(line for line in lines if line.lstrip("│├└─ ").startswith(TARGET + " "))
    side = next(line for line in lines if TARGET + "_quarantine" in line)
    assert main.index("target://") == side.index("target://") and side.lstrip().startswith("└─")
    assert any("dbt://exposure.dativo.customer_health" in line for line in lines)
