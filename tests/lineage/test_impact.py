"""Column-level lineage, impact analysis and the dbt usage interface the registry relies on."""

from __future__ import annotations

import pytest

from dativo_ingest.errors import NotFoundError
from dativo_ingest.lineage import LineageTracker, StoreUsageSource, UsageSource
from tests.lineage.conftest import build_pipeline


def _dbt_layer(tracker: LineageTracker) -> None:
    tracker.record_model_columns("model.shop.stg_customers", "stripe", "customers", ["id", "email"])
    tracker.record_model_columns("model.shop.stg_ids", "stripe", "customers", ["id"])
    fct = tracker.add_dbt_model_node("model.shop.fct_customers")
    dash = tracker.add_exposure_node("exposure.shop.crm_dashboard")
    tracker.add_edge("dbt://model.shop.stg_customers", fct, "ref")
    tracker.add_edge(fct, dash, "feeds")


def _ids(rows: list[dict]) -> list[str]:
    return [r["node"]["id"] for r in rows]


def test_impact_of_a_column_follows_only_its_readers(tracker: LineageTracker, asset) -> None:
    build_pipeline(tracker, asset)
    _dbt_layer(tracker)
    email = tracker.impact("stripe", "customers", "email")
    assert _ids(email) == [
        "dbt://model.shop.stg_customers",
        "dbt://model.shop.fct_customers",
        "dbt://exposure.shop.crm_dashboard",
    ]
    assert email[0]["columns"] == ["email"] and email[1]["columns"] == []
    assert _ids(tracker.impact("stripe", "customers", "id"))[:2] == [
        "dbt://model.shop.stg_customers",
        "dbt://model.shop.stg_ids",
    ]
    assert tracker.impact("stripe", "customers", "created_at") == []
    assert len(tracker.impact("stripe", "customers")) == 4
    with pytest.raises(NotFoundError, match="no field 'nosuchfield'"):
        tracker.impact("stripe", "customers", "nosuchfield")


def test_column_consumers_and_store_usage_source(tracker: LineageTracker, asset, store_url: str) -> None:
    build_pipeline(tracker, asset)
    _dbt_layer(tracker)
    assert tracker.column_consumers("stripe", "customers", "email") == [
        "model.shop.fct_customers",
        "model.shop.stg_customers",
    ]
    usage = StoreUsageSource(store_url)
    assert isinstance(usage, UsageSource)
    assert usage.consumers("stripe", "customers", "id") == [
        "model.shop.fct_customers",
        "model.shop.stg_customers",
        "model.shop.stg_ids",
    ]
    assert usage.consumers("stripe", "customers", "created_at") == []
    assert usage.consumers("hubspot", "contacts", "id") == []


def test_record_model_columns_replaces_previous_usage(tracker: LineageTracker) -> None:
    tracker.record_model_columns("model.shop.stg_customers", "stripe", "customers", ["id", "email"])
    tracker.record_model_columns("model.shop.stg_customers", "stripe", "customers", ["id"])
    assert tracker.column_consumers("stripe", "customers", "email") == []
    assert tracker.column_consumers("stripe", "customers", "id") == ["model.shop.stg_customers"]


def test_unknown_columns_mean_every_column_is_used(tracker: LineageTracker) -> None:
    tracker.record_model_columns("model.shop.stg_all", "stripe", "customers", [])
    assert tracker.column_consumers("stripe", "customers", "anything") == ["model.shop.stg_all"]


def test_nested_fields_match_their_parents(tracker: LineageTracker) -> None:
    tracker.record_model_columns("model.shop.stg_geo", "stripe", "customers", ["address.city"])
    tracker.record_model_columns("model.shop.stg_addr", "stripe", "customers", ["address"])
    assert tracker.column_consumers("stripe", "customers", "address") == [
        "model.shop.stg_addr",
        "model.shop.stg_geo",
    ]
    assert tracker.column_consumers("stripe", "customers", "address.zip") == ["model.shop.stg_addr"]
    assert tracker.column_consumers("stripe", "customers", "addressee") == []


def test_renamed_and_pass_through_columns(tracker: LineageTracker, asset) -> None:
    nodes = build_pipeline(tracker, asset)
    dbt_src = tracker.add_dbt_source_node("raw_stripe", "customers", project="shop")
    model = tracker.add_dbt_model_node("model.shop.stg_contacts")
    tracker.add_edge(nodes["target"], dbt_src, "declared_as")
    tracker.add_column_edge(dbt_src, "email", model, "contact_email", "MASKED")
    assert tracker.column_consumers("stripe", "customers", "email") == ["model.shop.stg_contacts"]
    assert tracker.impact("stripe", "customers", "email")[0]["columns"] == ["contact_email"]
    assert tracker.column_consumers("stripe", "customers", "id") == []
    assert tracker.column_lineage(model) == [
        {
            "from": "dbt://source.shop.raw_stripe.customers",
            "from_field": "email",
            "to": "dbt://model.shop.stg_contacts",
            "to_field": "contact_email",
            "transformation": "MASKED",
            "description": None,
        }
    ]


def test_usage_source_looks_through_generated_staging_models(tracker: LineageTracker, store_url: str) -> None:
    """dativo's staging models select every column; only what reads them downstream counts as usage."""
    tracker.record_model_columns("model.shop.stg_orders", "shop", "orders", ["id", "amount", "ratio"])
    stg = tracker.add_dbt_model_node("model.shop.stg_orders", generated_by="dativo")
    fct = tracker.add_dbt_model_node("model.shop.fct_revenue")
    tracker.record_column_reads(stg, fct, [("amount", "revenue")])
    usage = StoreUsageSource(store_url)
    assert usage.consumers("shop", "orders", "ratio") == []
    assert usage.consumers("shop", "orders", "amount") == ["model.shop.fct_revenue"]
    assert tracker.column_consumers("shop", "orders", "ratio") == ["model.shop.stg_orders"]  # impact view
    tracker.add_edge(stg, tracker.add_exposure_node("exposure.shop.orders_app"), "exposes")
    assert usage.consumers("shop", "orders", "ratio") == ["exposure.shop.orders_app"]  # all its columns
    tracker.add_dbt_model_node("model.shop.stg_orders", generated_by=None)  # taken over by hand
    assert usage.consumers("shop", "orders", "ratio") == ["model.shop.stg_orders"]
