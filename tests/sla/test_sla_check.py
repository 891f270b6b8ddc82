"""SLA breaches from run history: freshness and frequency, with a controlled clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from dativo_ingest.ai_context_api import AIContextAPI
from dativo_ingest.cli.app import main
from dativo_ingest.contracts import ContractManager
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.notifications import wait_for_pending
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.sla import check_contract
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.run_history import RunRecord, record_run
from tests.ingest.helpers import CUSTOMERS_CONTRACT, good_rows, write_contract, write_csv, write_job
from tests.notifications.helpers import FAST_RETRY, deliveries, write_workspace_config
from tests.receivers import Receiver

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SLA = [
    {"property": "latency", "value": 4, "unit": "h", "element": "customers.created_at"},
    {"property": "frequency", "value": 1, "unit": "h"},
]


def contract(sla: list[dict] | None = None) -> AssetDefinition:
    return AssetDefinition.from_dict({**CUSTOMERS_CONTRACT, "slaProperties": SLA if sla is None else sla})


def seed(store: MetadataStore, *finished: datetime, status: str = "success") -> None:
    for i, moment in enumerate(finished):
        record_run(
            store,
            RunRecord(
                run_id=f"run-{status}-{moment:%d%H%M}-{i}",
                tenant_id="acme",
                job_name="customers",
                status=status,
                started_at=moment - timedelta(minutes=1),
                finished_at=moment,
                contract_id="stripe-customers-001",
                source_type="stripe",
                object_name="customers",
            ),
        )


@pytest.fixture
def store(workspace: Path) -> MetadataStore:
    return MetadataStore.for_workspace(workspace)


def hourly(hours: int, end: datetime = NOW) -> list[datetime]:
    return [end - timedelta(hours=h) for h in range(hours - 1, -1, -1)]


def test_hourly_successful_runs_meet_freshness_and_frequency(store: MetadataStore) -> None:
    seed(store, *[t - timedelta(minutes=5) for t in hourly(12)])
    report = check_contract(store, contract(), now=NOW)
    assert report["status"] == "met" and report["breaches"] == []
    assert [(r["property"], r["status"]) for r in report["results"]] == [
        ("latency", "met"),
        ("frequency", "met"),
    ]


def test_no_successful_run_within_the_freshness_window_is_a_stale_breach(store: MetadataStore) -> None:
    seed(store, NOW - timedelta(hours=6))
    seed(store, NOW - timedelta(hours=1), status="failed")  # a failed run does not make data fresh
    report = check_contract(store, contract([SLA[0]]), now=NOW)
    (breach,) = report["breaches"]
    assert breach["kind"] == "stale" and breach["property"] == "latency"
    assert breach["late_by_seconds"] == 2 * 3600
    assert breach["message"] == "latency 4 h breached: last successful run 6h ago"
    assert check_contract(store, contract([SLA[0]]), now=NOW - timedelta(hours=3))["status"] == "met"


def test_a_run_later_than_its_frequency_is_a_breach_and_so_is_an_overdue_next_run(
    store: MetadataStore,
) -> None:
    times = hourly(8, NOW - timedelta(hours=3))  # hourly until 09:00, then nothing until 11:30
    seed(store, *times, NOW - timedelta(minutes=30))
    report = check_contract(store, contract([SLA[1]]), now=NOW)
    (late,) = report["breaches"]
    assert late["kind"] == "late_run" and late["run_id"].startswith("run-success-1011")
    assert late["late_by_seconds"] == int(timedelta(hours=1, minutes=30).total_seconds())

    overdue = check_contract(store, contract([SLA[1]]), now=NOW + timedelta(hours=2))
    assert [b["kind"] for b in overdue["breaches"]] == ["late_run", "overdue"]


def test_a_contract_without_runs_is_in_breach_and_unreadable_rules_are_not_checked(
    store: MetadataStore,
) -> None:
    sla = [
        {"property": "freshness", "value": 1, "unit": "d"},
        {"property": "latency", "value": "soon"},
        {"property": "frequency", "value": 1, "unit": "fortnight"},
        {"property": "timeOfAvailability", "value": "09:00-08:00"},
    ]
    report = check_contract(store, contract(sla), now=NOW)
    assert [(r["property"], r["status"]) for r in report["results"]] == [
        ("freshness", "breached"),
        ("latency", "not_checked"),
        ("frequency", "not_checked"),
        ("timeOfAvailability", "not_checked"),
    ]
    assert report["results"][2]["detail"] == "cannot read 1 fortnight as a duration"
    assert report["breaches"][0]["message"] == "freshness 1 d breached: no successful run"


def test_runs_of_other_contracts_do_not_count(store: MetadataStore) -> None:
    record_run(
        store,
        RunRecord("other", "acme", "orders", "success", NOW, NOW, "shop-orders", "shop", "orders"),
    )
    assert check_contract(store, contract([SLA[0]]), now=NOW)["status"] == "breached"


def test_sla_check_cli_exits_1_on_breach_and_notifies(
    workspace: Path, store: MetadataStore, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    ContractManager(workspace / "specs").save_contract(contract())
    seed(store, *[t - timedelta(minutes=5) for t in hourly(12)])
    at = NOW.isoformat()
    assert main(["sla", "check", "stripe/customers", "--at", at]) == 0
    out = capsys.readouterr().out
    assert "latency 4 h: met" in out and "0 of 1 contract(s) in breach" in out

    later = (NOW + timedelta(hours=5)).isoformat()
    assert main(["sla", "check", "--json", "--at", later]) == 1
    (report,) = json.loads(capsys.readouterr().out)
    assert report["name"] == "stripe/customers" and report["status"] == "breached"
    assert sorted(b["kind"] for b in report["breaches"]) == ["overdue", "stale"]

    write_workspace_config(
        workspace,
        {
            "channels": {"ops": {"type": "webhook", "url": receiver.url()}},
            "events": {"sla_breached": {}},
            "retry": FAST_RETRY,
        },
    )
    assert main(["sla", "check", "stripe/customers", "--at", later, "--notify"]) == 1
    assert wait_for_pending(10)
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert sorted(b["details"]["kind"] for b in bodies) == ["overdue", "stale"]
    assert {b["event"] for b in bodies} == {"sla_breached"}
    # the summary (email subject, Slack text) names the contract in breach
    assert all(b["summary"].startswith("stripe/customers 1.0.0: ") for b in bodies), bodies
    assert {d["status"] for d in deliveries(workspace)} == {"delivered"}

    # checked again (from cron, say): the same ongoing breaches are not announced a second time
    assert main(["sla", "check", "stripe/customers", "--at", later, "--notify"]) == 1
    assert wait_for_pending(10)
    assert len(receiver.requests) == 2 and len(deliveries(workspace)) == 2


def test_sla_check_cli_bad_input(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sla", "check", "nope"]) == 1
    assert "neither a file nor a registry reference" in capsys.readouterr().err
    assert main(["sla", "check", "stripe/customers", "--at", "yesterday"]) == 1
    assert "--at must be an ISO-8601 time" in capsys.readouterr().err


def test_a_real_run_makes_the_contract_fresh_and_the_ai_context_says_so(workspace: Path) -> None:
    write_contract(workspace, {**CUSTOMERS_CONTRACT, "slaProperties": [SLA[0]]})
    write_csv(workspace / "data" / "customers.csv", good_rows(0, 5))
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/customers.csv"}})
    ContractManager(workspace / "specs").save_contract(contract([SLA[0]]))
    api = AIContextAPI()
    before = api.get_asset_context("stripe", "customers")["sla_status"]
    assert before["status"] == "breached" and before["breaches"] == [
        "latency 4 h breached: no successful run"
    ]

    assert run_job(load_job(job)).status == "success"
    after = api.get_asset_context("stripe", "customers")["sla_status"]
    assert after["status"] == "met" and after["breaches"] == []
    assert after["rules"] == [{"property": "latency", "value": 4, "unit": "h", "status": "met"}]
    stale = check_contract(
        MetadataStore.for_workspace(workspace), contract([SLA[0]]), now=datetime.now(UTC) + timedelta(hours=5)
    )
    assert stale["status"] == "breached"
    assert yaml.safe_load((workspace / "assets" / "customers.yaml").read_text())["slaProperties"] == [SLA[0]]
