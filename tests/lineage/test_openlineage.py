"""Every event dativo emits validates against the official OpenLineage spec, each facet on its own."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dativo_ingest.errors import ContractValidationError
from dativo_ingest.lineage import LineageTracker, validate_event
from dativo_ingest.lineage_graph.validation import SpecValidator
from tests.conftest import reference_dir
from tests.lineage.conftest import build_pipeline
from tests.lineage.spec import spec_errors


@pytest.fixture
def spec_root() -> Path:
    return reference_dir("openlineage", "spec")


@pytest.fixture
def emitting(workspace: Path, tmp_path: Path) -> tuple[LineageTracker, Path]:
    """A tracker whose events go through openlineage-python's file transport into one JSON-lines file."""
    log = tmp_path / "events.jsonl"
    config = {"transport": {"type": "file", "log_file_path": str(log), "append": True}}
    return LineageTracker(workspace=workspace, openlineage=config), log


# What an ingestion run reports (dativo_ingest.ingest.runner): one assertion per enforced rule.
ASSERTION_METRICS = {
    "records_read": 10,
    "records_written": 8,
    "rule_failures": {"pattern:email": 2},
    "assertions": [
        {"assertion": "type", "column": "id", "success": True},
        {"assertion": "required", "column": "id", "success": True},
        {"assertion": "pattern", "column": "email", "success": False},
    ],
}


def _emit_every_kind(tracker: LineageTracker, asset) -> None:
    nodes = build_pipeline(tracker, asset)
    pg = tracker.add_source_node(
        "postgres",
        "orders",
        connection={"host": "db.internal", "port": 5433, "database": "shop", "schema": "sales"},
    )
    lake = tracker.add_target_node(
        "iceberg", "silver", "orders", location="s3://lake/warehouse/silver.db/orders"
    )
    tracker.add_edge(pg, lake, "writes_to")
    tracker.add_column_edge(pg, "amount", lake, "amount_usd", "TRANSFORMATION", "cents to dollars")
    model = tracker.add_dbt_model_node("model.shop.stg_customers")
    tracker.add_edge(nodes["target"], model, "ref")
    parent = tracker.start_run("acme", "nightly")
    tracker.record_run("acme", "nightly", "success", {"records_processed": 3, "null_counts": {"email": 1}})
    tracker.record_run("acme", "stripe-ingest", "partial", ASSERTION_METRICS)
    tracker.record_run(
        "acme",
        "stripe-ingest",
        "success",
        {"records_written": 9, "bytes_written": 512},
        parent_run_id=parent["run_id"],
        parent_job_name="nightly",
    )
    tracker.record_run("acme", "stripe-ingest", "failed", error="source returned HTTP 500")
    tracker.record_run("acme", "stripe-ingest", "aborted")


def test_every_emitted_event_validates_against_the_spec(emitting, asset, spec_root: Path) -> None:
    tracker, log = emitting
    _emit_every_kind(tracker, asset)
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE", "COMPLETE", "COMPLETE", "FAIL", "ABORT"]
    for event in events:
        assert spec_errors(event, spec_root) == [], event["eventType"]
        assert SpecValidator(spec_root).errors(event) == []
    facets = {
        k
        for e in events
        for ds in e["inputs"] + e["outputs"]
        for k in {**ds["facets"], **ds.get("inputFacets", {}), **ds.get("outputFacets", {})}
    }
    assert {
        "schema",
        "dataSource",
        "columnLineage",
        "ownership",
        "documentation",
        "dataQualityMetrics",
        "dataQualityAssertions",
        "catalog",
        "symlinks",
        "outputStatistics",
    } <= facets
    assert events[3]["run"]["facets"]["parent"]["run"]["runId"] == events[0]["run"]["runId"]
    assert events[4]["run"]["facets"]["errorMessage"]["message"] == "source returned HTTP 500"
    assert {"processing_engine"} <= set(events[0]["run"]["facets"])
    assert events[0]["job"]["facets"]["jobType"]["processingType"] == "BATCH"


def test_run_assertions_become_the_data_quality_assertions_facet(emitting, asset, spec_root: Path) -> None:
    tracker, log = emitting
    build_pipeline(tracker, asset)
    tracker.record_run("acme", "stripe-ingest", "success", ASSERTION_METRICS)
    tracker.record_run("acme", "stripe-ingest", "success", {"rule_failures": {"unique:id": 1}})
    tracker.record_run("acme", "stripe-ingest", "success", {"records_read": 3})
    full, failures_only, none = [json.loads(line) for line in log.read_text().splitlines()]
    (source,) = full["inputs"]
    assert (source["namespace"], source["name"]) == ("stripe://stripe", "customers")
    facet = source["inputFacets"]["dataQualityAssertions"]
    assert facet["assertions"] == [
        {
            "assertion": "type",
            "success": True,
            "column": "id",
            "name": "type:id",
            "expected": "0",
            "actual": "0",
        },
        {
            "assertion": "required",
            "success": True,
            "column": "id",
            "name": "required:id",
            "expected": "0",
            "actual": "0",
        },
        {
            "assertion": "pattern",
            "success": False,
            "column": "email",
            "name": "pattern:email",
            "expected": "0",
            "actual": "2",
        },
    ]
    assert all(not out.get("outputFacets", {}).get("dataQualityAssertions") for out in full["outputs"])
    only = failures_only["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert only == [
        {
            "assertion": "unique",
            "success": False,
            "column": "id",
            "name": "unique:id",
            "expected": "0",
            "actual": "1",
        }
    ]
    assert "dataQualityAssertions" not in none["inputs"][0].get("inputFacets", {})
    for event in (full, failures_only):
        assert spec_errors(event, spec_root) == []
        assert SpecValidator(spec_root).errors(event) == []
    # The checks see a broken assertion: no success flag, a non-boolean one, a facet on an output.
    for breaks in (
        lambda e: e["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"][0].pop("success"),
        lambda e: e["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"][2].update(
            success="no"
        ),
        lambda e: (
            e["outputs"][0]
            .setdefault("outputFacets", {})
            .update(dataQualityAssertions=e["inputs"][0]["inputFacets"]["dataQualityAssertions"])
        ),
    ):
        broken = copy.deepcopy(full)
        breaks(broken)
        assert spec_errors(broken, spec_root), broken
        with pytest.raises(ContractValidationError, match="OpenLineage event does not match the spec"):
            validate_event(broken)


def test_export_and_stored_run_events_validate(tracker: LineageTracker, asset, spec_root: Path) -> None:
    build_pipeline(tracker, asset)
    before = tracker.export_to_openlineage()
    record = tracker.record_run("acme", "stripe-customers-ingest", "success", {"records_processed": 10000})
    exported = tracker.export_to_openlineage()
    stored = tracker.run_event(record["run_id"])
    for event in (before, exported, stored):
        assert spec_errors(event, spec_root) == []
    assert exported["run"]["runId"] == record["run_id"] == stored["run"]["runId"]
    assert stored["inputs"] == exported["inputs"] and stored["outputs"] == exported["outputs"]


def test_dataset_naming_follows_openlineage(emitting, asset) -> None:
    tracker, log = emitting
    _emit_every_kind(tracker, asset)
    event = json.loads(log.read_text().splitlines()[1])
    names = {(d["namespace"], d["name"]) for d in event["inputs"] + event["outputs"]}
    assert ("postgres://db.internal:5433", "shop.sales.orders") in names
    assert ("s3://lake", "warehouse/silver.db/orders") in names
    local = next(d for d in event["outputs"] if d["namespace"] == "file")
    assert local["name"].endswith("/warehouse/bronze/stripe_customers")
    assert local["facets"]["symlinks"]["identifiers"][0] == {
        "namespace": local["facets"]["catalog"]["warehouseUri"],
        "name": "bronze.stripe_customers",
        "type": "TABLE",
    }
    lake = next(d for d in event["outputs"] if d["namespace"] == "s3://lake")
    amount = lake["facets"]["columnLineage"]["fields"]["amount_usd"]["inputFields"][0]
    assert (amount["namespace"], amount["name"], amount["field"]) == (
        "postgres://db.internal:5433",
        "shop.sales.orders",
        "amount",
    )
    assert amount["transformations"][0]["subtype"] == "TRANSFORMATION"


def test_the_checks_reject_broken_events(tracker: LineageTracker, asset, spec_root: Path) -> None:
    build_pipeline(tracker, asset)
    good = tracker.export_to_openlineage()
    no_run_id = copy.deepcopy(good)
    del no_run_id["run"]["runId"]
    bad_uuid = copy.deepcopy(good)
    bad_uuid["run"]["runId"] = "not-a-uuid"
    bad_facet = copy.deepcopy(good)
    del bad_facet["outputs"][0]["facets"]["catalog"]["framework"]
    misplaced = copy.deepcopy(good)
    misplaced["run"]["facets"]["schema"] = good["outputs"][0]["facets"]["schema"]
    for broken in (no_run_id, bad_facet, misplaced):
        assert spec_errors(broken, spec_root), broken
    for broken in (no_run_id, bad_uuid, bad_facet, misplaced):
        with pytest.raises(ContractValidationError, match="OpenLineage event does not match the spec"):
            validate_event(broken)
