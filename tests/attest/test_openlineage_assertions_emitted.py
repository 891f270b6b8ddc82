"""A contract test is a lineage run whose OpenLineage event carries the results as the tested dataset's
``dataQualityAssertions`` facet (valid against the spec), and is sent through the configured transport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.lineage import LineageTracker
from dativo_ingest.lineage_graph.validation import validate_event
from tests.attest.conftest import EXPECTED, write_contract


@pytest.mark.parametrize("seeded", ["parquet"], indirect=True)
def test_the_event_carries_one_assertion_per_check(seeded, workspace: Path, capsys, monkeypatch) -> None:
    events = workspace / "ol.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(events))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    assert main(["contract", "test", str(contract), "--json", "--filter", "id >= 8"]) == 1
    report = json.loads(capsys.readouterr().out)
    sent = [json.loads(line) for line in events.read_text().splitlines()]
    assert len(sent) == 1 and sent[0]["eventType"] == "FAIL"
    stored = LineageTracker(workspace=workspace, openlineage=False).run_event(report["lineage_run_id"])
    for event in (sent[0], stored):
        validate_event(event)
        assert event["job"]["name"] == f"contract_test.{seeded['table']}-contract"
        (tested,) = event["inputs"]
        assert tested["name"].endswith(f"{seeded['table']}.parquet")
        facet = tested["inputFacets"]["dataQualityAssertions"]["assertions"]
        by_name = {a["name"]: a for a in facet}
        assert set(by_name) == set(EXPECTED)
        assert by_name["range:amount"]["success"] is False and by_name["range:amount"]["actual"] == "1"
        assert by_name["not_null:id"]["success"] is True and by_name["not_null:id"]["column"] == "id"
        assert tested["inputFacets"]["dataQualityMetrics"]["rowCount"] == 3
