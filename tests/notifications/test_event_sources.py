"""The events raised outside a run's failure: forced breaking saves, cost anomalies, contract tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.contracts import ContractManager
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.notifications import EVENTS, events, wait_for_pending
from dativo_ingest.notifications.config import EventRoute
from dativo_ingest.notifications.delivery import accepts
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.store.database import MetadataStore
from tests.finops.conftest import store_run
from tests.ingest.helpers import CUSTOMERS_CONTRACT, good_rows, write_contract, write_csv, write_job
from tests.notifications.helpers import FAST_RETRY, deliveries, write_workspace_config
from tests.receivers import Receiver


def routed(receiver: Receiver, event: str, **route: object) -> dict:
    return {
        "channels": {"ops": {"type": "webhook", "url": receiver.url()}},
        "events": {event: route},
        "retry": FAST_RETRY,
    }


def test_a_breaking_change_saved_with_force_is_announced(workspace: Path, receiver: Receiver) -> None:
    write_workspace_config(workspace, routed(receiver, "breaking_change_forced"))
    manager = ContractManager(workspace / "specs")
    manager.save_contract(AssetDefinition.from_dict(CUSTOMERS_CONTRACT))
    narrower = {**CUSTOMERS_CONTRACT, "version": "1.0.1", "schema": CUSTOMERS_CONTRACT["schema"][:-1]}
    assert main(["contract", "save", _write(workspace, narrower), "--force", "--author", "ops@x.com"]) == 0
    assert wait_for_pending(10)

    (request,) = receiver.requests
    body = json.loads(request.body)
    assert body["event"] == "breaking_change_forced" and body["severity"] == "critical"
    assert body["details"]["change_type"] == "breaking" and body["details"]["required_version"] == "2.0.0"
    assert body["details"]["saved_by"] == "ops@x.com"
    assert any("created_at" in c for c in body["details"]["changes"])
    assert body["summary"].startswith("stripe/customers 1.0.1 saved with force over 1.0.0")


def test_a_save_that_needs_no_force_announces_nothing(workspace: Path, receiver: Receiver) -> None:
    write_workspace_config(workspace, routed(receiver, "breaking_change_forced"))
    manager = ContractManager(workspace / "specs")
    manager.save_contract(AssetDefinition.from_dict(CUSTOMERS_CONTRACT))
    manager.save_contract(
        AssetDefinition.from_dict({**CUSTOMERS_CONTRACT, "version": "1.1.0", "tags": ["x"]})
    )
    assert wait_for_pending(10)
    assert receiver.requests == []


def test_a_run_far_costlier_than_its_history_raises_a_cost_anomaly(
    workspace: Path, receiver: Receiver
) -> None:
    store = MetadataStore.for_workspace(workspace)
    start = datetime.now(UTC) - timedelta(days=6)
    for day in range(6):
        store_run(
            store,
            tenant="acme",
            job="customers",
            when=start + timedelta(days=day),
            cpu=0.0001,
            memory=1.0,
            ingested=10,
            written=10,
            calls=0,
        )
    write_contract(workspace)
    write_csv(workspace / "data" / "customers.csv", good_rows(0, 2000))
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/customers.csv"}})
    write_workspace_config(workspace, routed(receiver, "cost_anomaly", min_severity="high"))

    result = run_job(load_job(job))
    assert wait_for_pending(10)
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert bodies, "no cost anomaly was sent"
    assert {b["event"] for b in bodies} == {"cost_anomaly"}
    assert {b["details"]["severity"] for b in bodies} == {"high"}
    assert all(b["run_id"] == result.run_id and b["job"] == "acme/customers" for b in bodies)
    assert {d["status"] for d in deliveries(workspace)} == {"delivered"}


def test_cost_anomaly_routes_filter_by_severity() -> None:
    asset = AssetDefinition.from_dict(CUSTOMERS_CONTRACT)
    medium = events.cost_anomaly(
        asset, job="acme/x", run_id="r", anomaly={"type": "cost_spike", "severity": "medium"}
    )
    high = events.cost_anomaly(
        asset, job="acme/x", run_id="r", anomaly={"type": "cost_spike", "severity": "high"}
    )
    assert not accepts(EventRoute(), medium) and accepts(EventRoute(), high)  # default: high only
    assert accepts(EventRoute(min_severity="medium"), medium)


def test_the_contract_test_event_is_one_of_the_known_events_and_unknown_names_are_refused() -> None:
    assert "contract_test_failed" in EVENTS
    with pytest.raises(ValueError, match="unknown event 'run_exploded'"):
        events.Event("run_exploded", "boom")


def test_notifications_list_refuses_an_unknown_event(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notifications", "list", "--event", "nope"]) == 1
    err = capsys.readouterr().err
    assert "unknown event 'nope'" in err and len(err.strip().splitlines()) == 1


def _write(workspace: Path, document: dict) -> str:
    import yaml

    path = workspace / "changed.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return str(path)
