"""``dativo lineage show|impact|export|runs`` against a workspace store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.lineage import LineageTracker
from tests.conftest import reference_dir
from tests.lineage.conftest import build_pipeline
from tests.lineage.spec import spec_errors


@pytest.fixture
def populated(workspace: Path, asset) -> LineageTracker:
    tracker = LineageTracker(openlineage=False)
    build_pipeline(tracker, asset)
    tracker.record_model_columns("model.shop.stg_customers", "stripe", "customers", ["id", "email"])
    tracker.add_edge("dbt://model.shop.stg_customers", tracker.add_exposure_node("crm"), "feeds")
    tracker.record_run("acme", "stripe-customers-ingest", "success", {"records_processed": 5})
    return tracker


def test_show_downstream_json_and_text(populated, capsys) -> None:
    assert (
        main(["lineage", "show", "source://stripe/customers", "--downstream", "--depth", "1", "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert [r["node"]["id"] for r in data["downstream"]] == [
        "asset://stripe/customers@1.0.0",
        "dbt://model.shop.stg_customers",
    ]
    assert "upstream" not in data
    assert main(["lineage", "show", "target://iceberg/bronze/stripe_customers", "--upstream"]) == 0
    out = capsys.readouterr().out
    assert "upstream of target://iceberg/bronze/stripe_customers: 3 node(s)" in out
    assert "source://stripe/customers" in out


def test_impact_lists_models_and_exposures(populated, capsys) -> None:
    assert main(["lineage", "impact", "stripe", "customers", "email", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["node"]["id"] for r in rows] == ["dbt://model.shop.stg_customers", "dbt://exposure.crm"]
    assert main(["lineage", "impact", "stripe", "customers", "created_at"]) == 0
    assert "0 consumer(s) of stripe/customers.created_at" in capsys.readouterr().out


def test_export_formats(populated, capsys, tmp_path: Path) -> None:
    assert main(["lineage", "export", "--format", "openlineage"]) == 0
    event = json.loads(capsys.readouterr().out)
    assert event["job"]["name"] == "stripe-customers-ingest"
    assert spec_errors(event, reference_dir("openlineage", "spec")) == []
    assert main(["lineage", "export", "--format", "mermaid"]) == 0
    mermaid = capsys.readouterr().out
    assert mermaid.startswith("flowchart LR\n") and "-->|writes_to|" in mermaid
    out = tmp_path / "g.dot"
    assert main(["lineage", "export", "-f", "dot", "--node", "dbt://exposure.crm", "-o", str(out)]) == 0
    dot = out.read_text()
    assert dot.startswith("digraph lineage {") and '"dbt://exposure.crm"' in dot
    assert "target://" not in dot  # only the exposure's own lineage
    assert main(["lineage", "export", "-f", "dot", "--node", "dbt://exposure.crm", "-o", str(out)]) == 0
    assert out.read_text() == dot  # deterministic


def test_bad_input_is_one_line_and_exit_1(populated, capsys) -> None:
    assert main(["lineage", "show", "source://nope/x"]) == 1
    err = capsys.readouterr().err
    assert "unknown lineage node 'source://nope/x'" in err and "Traceback" not in err
    assert err.strip().count("\n") == 0
    assert main(["lineage", "export", "--format", "png"]) == 1
    assert "unknown format 'png'" in capsys.readouterr().err
    assert main(["lineage", "export", "--run", "00000000-0000-0000-0000-000000000000"]) == 1
    assert "no recorded lineage run" in capsys.readouterr().err
    assert main(["lineage", "impact", "hubspot", "contacts"]) == 1


def test_runs_listing(populated, capsys) -> None:
    assert main(["lineage", "runs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["job_name"] for r in rows] == ["stripe-customers-ingest"]
