"""A run's notifications: they go out after the commit, never hold it up, and never fail it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dativo_ingest.cli.app import app, main
from dativo_ingest.errors import DataValidationError, SourceError
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.notifications import wait_for_pending
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.run_history import contract_runs
from tests.ingest.helpers import good_rows, write_contract, write_csv, write_job
from tests.notifications.helpers import FAST_RETRY, deliveries, write_workspace_config
from tests.receivers import Receiver

BAD_ROWS = [
    "cus_bad001,,active,1,2024-01-01T00:00:00Z",
    "cus_bad002,x@example.com,bogus,1,2024-01-01T00:00:00Z",
]


@pytest.fixture
def customers_job(workspace: Path) -> Path:
    write_contract(workspace)
    write_csv(workspace / "data" / "customers.csv", good_rows(0, 20) + BAD_ROWS)
    return write_job(workspace, {"source": {"type": "csv", "path": "../data/customers.csv"}})


def test_a_receiver_that_never_answers_does_not_hold_up_the_run_which_commits_and_the_failure_is_stored(
    workspace: Path, customers_job: Path, receiver: Receiver
) -> None:
    receiver.default = "hang"
    write_workspace_config(
        workspace,
        {
            "channels": {"ops": {"type": "webhook", "url": receiver.url()}},
            "events": {"quarantine_share": {"threshold": 0.05}},
            "retry": {"attempts": 2, "backoff_seconds": 0.01},
            "timeout_seconds": 1.5,
        },
    )
    began = time.monotonic()
    result = run_job(load_job(customers_job))
    elapsed = time.monotonic() - began

    assert (result.status, result.rows_written, result.rows_quarantined) == ("success", 20, 2)
    assert result.snapshot_id is not None
    assert elapsed < 3.0, "the run waited for its notification"  # 2 attempts x 1.5 s would be 3 s
    (pending,) = deliveries(workspace)
    assert pending["status"] == "pending"

    assert wait_for_pending(20)
    (row,) = deliveries(workspace, failed_only=True)
    assert (row["event"], row["attempts"], row["last_error"]) == (
        "quarantine_share",
        2,
        "timed out after 1.5s",
    )
    assert len(receiver.requests) == 2
    body = json.loads(receiver.requests[0].body)
    assert body["details"]["rows_quarantined"] == 2 and body["details"]["share"] == pytest.approx(2 / 22)
    assert body["run_id"] == result.run_id


def test_quarantine_share_under_the_threshold_sends_nothing(
    workspace: Path, customers_job: Path, receiver: Receiver
) -> None:
    write_workspace_config(
        workspace,
        {
            "channels": {"ops": {"type": "webhook", "url": receiver.url()}},
            "events": {"quarantine_share": {"threshold": 0.5}},
        },
    )
    assert run_job(load_job(customers_job)).rows_quarantined == 2
    assert wait_for_pending(10)
    assert receiver.requests == [] and deliveries(workspace) == []


def test_a_failed_run_notifies_run_failed_once_and_is_in_the_run_history(
    workspace: Path, receiver: Receiver
) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "customers.csv", good_rows(0, 5) + BAD_ROWS)
    job = write_job(
        workspace,
        {"source": {"type": "csv", "path": "../data/customers.csv"}, "validation": {"mode": "strict"}},
    )
    write_workspace_config(
        workspace,
        {
            "channels": {"ops": {"type": "webhook", "url": receiver.url()}},
            "events": {"run_failed": {}},
            "retry": FAST_RETRY,
        },
    )
    with pytest.raises(DataValidationError):
        run_job(load_job(job))
    assert wait_for_pending(10)

    (request,) = receiver.requests
    body = json.loads(request.body)
    assert (
        body["event"] == "run_failed" and body["job"] == "acme/customers" and body["severity"] == "critical"
    )
    assert "strict mode" in body["details"]["error"]
    (run,) = contract_runs(
        MetadataStore.for_workspace(workspace), source_type="stripe", object_name="customers"
    )
    assert run.status == "failed" and run.run_id == body["run_id"]


def test_a_run_that_fails_before_it_starts_notifies_run_failed_too(
    workspace: Path, customers_job: Path, receiver: Receiver
) -> None:
    write_workspace_config(
        workspace,
        {
            "channels": {"ops": {"type": "webhook", "url": receiver.url()}},
            "events": {"run_failed": {}},
            "retry": FAST_RETRY,
        },
    )
    (workspace / "data" / "customers.csv").unlink()
    with pytest.raises(SourceError):
        run_job(load_job(customers_job))
    assert wait_for_pending(10)
    (request,) = receiver.requests
    body = json.loads(request.body)
    assert body["event"] == "run_failed" and "customers.csv" in body["details"]["error"]
    assert body["contract"]["id"] == "stripe-customers-001"


def test_a_job_overrides_the_workspace_section(workspace: Path, receiver: Receiver) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "customers.csv", good_rows(0, 5) + BAD_ROWS)
    write_workspace_config(
        workspace,
        {
            "channels": {"ops": {"type": "webhook", "url": receiver.url("/ops")}},
            "events": {"quarantine_share": {"threshold": 0.9}},
            "retry": FAST_RETRY,
        },
    )
    job = write_job(
        workspace,
        {
            "source": {"type": "csv", "path": "../data/customers.csv"},
            "notifications": {
                "channels": {"team": {"type": "webhook", "url": receiver.url("/team")}},
                "events": {"quarantine_share": {"threshold": 0.1, "channels": ["team"]}},
            },
        },
    )
    run_job(load_job(job))
    assert wait_for_pending(10)
    assert [r.path for r in receiver.requests] == ["/team"]

    silenced = write_job(
        workspace,
        {"source": {"type": "csv", "path": "../data/customers.csv"}, "notifications": {"enabled": False}},
        name="silent.yaml",
    )
    receiver.requests.clear()
    CliRunner().invoke(app, ["run", "-c", str(silenced)])
    assert wait_for_pending(10)
    assert receiver.requests == []


# ----- bad input: one clear line naming the file and the key, nothing run ------------------------
def test_an_unknown_event_in_the_workspace_file_fails_the_run_up_front_naming_file_and_key(
    workspace: Path, customers_job: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_workspace_config(workspace, {"channels": {}, "events": {"run_failled": {}}})
    assert main(["run", "-c", str(customers_job)]) == 1
    line = " ".join(capsys.readouterr().err.split())
    assert f"{workspace / 'dativo.yaml'}:" in line and "notifications.events.run_failled" in line
    assert "unknown event 'run_failled'" in line and "run_failed" in line
    assert not (workspace / "warehouse").exists() or not list((workspace / "warehouse").rglob("*.parquet"))


def test_an_unknown_event_in_a_job_names_the_job_file_and_line(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_contract(workspace)
    job = write_job(
        workspace,
        {"source": {"type": "csv", "path": "x.csv"}, "notifications": {"events": {"sla_breach": {}}}},
    )
    assert main(["run", "-c", str(job)]) == 1
    line = " ".join(capsys.readouterr().err.split())
    number = next(i for i, text in enumerate(job.read_text().splitlines(), 1) if "sla_breach" in text)
    assert (
        f"{job}:{number}" in line
        and "notifications.events.sla_breach" in line
        and "unknown event 'sla_breach'" in line
    )


@pytest.mark.parametrize(
    ("section", "field", "message"),
    [
        ({"channels": {"ops": {"type": "webhook"}}}, "notifications.channels.ops.url", "is required"),
        (
            {"channels": {"ops": {"type": "webhook", "url": "http://127.0.0.1:99999/hook/t0ken"}}},
            "notifications.channels.ops.url",
            "Port out of range",
        ),
        (
            {"channels": {"email": {"type": "email", "from": "a@b.c", "host": "h", "port": "x"}}},
            "dativo.yaml:7 notifications.channels.email.port",
            "valid integer",
        ),
        ({"channels": {"ops": {"type": "pager"}}}, "notifications.channels.ops", "pager"),
        ({"channels": {}, "events": {"run_failed": {"channels": ["slack"]}}}, "notifications", "'slack'"),
        (
            {"channels": {}, "events": {"run_failed": {"threshold": 0.1}}},
            "notifications",
            "applies to quarantine_share only",
        ),
        ({"events": ["run_failed"]}, "notifications.events", "must be a mapping"),
        ({"retry": {"attempts": 0}}, "notifications.retry.attempts", "greater than or equal to 1"),
    ],
)
def test_a_malformed_section_is_one_clear_error(
    workspace: Path,
    customers_job: Path,
    section: dict,
    field: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_workspace_config(workspace, section)
    assert main(["run", "-c", str(customers_job)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    line = " ".join(err.split())
    assert "dativo.yaml" in line and field in line and message in line, line
    assert "t0ken" not in line
