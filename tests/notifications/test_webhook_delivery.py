"""Webhook and Slack delivery over a real HTTP server on 127.0.0.1: signature, retries, shape, records."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dativo_ingest.logging import setup_logging
from dativo_ingest.notifications import Event, dispatch, events
from dativo_ingest.notifications.payloads import verify_signature
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.workspace import Workspace
from tests.ingest.helpers import CUSTOMERS_CONTRACT
from tests.notifications.helpers import FAST_RETRY, deliveries, write_workspace_config
from tests.receivers import Receiver

HMAC_SECRET = "hmac-5ecret-value-42"


def contract(**extra: object) -> AssetDefinition:
    return AssetDefinition.from_dict({**CUSTOMERS_CONTRACT, **extra})


def failed_test_event() -> Event:
    return events.contract_test_failed(
        contract(),
        failures=[{"check": "not_null", "column": "email", "failed_rows": 3}],
        checks_run=7,
        server="warehouse",
    )


def test_webhook_body_is_signed_and_the_receiver_verifies_the_hmac(
    workspace: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_HMAC_SECRET", HMAC_SECRET)
    write_workspace_config(
        workspace,
        {
            "channels": {"ops": {"type": "webhook", "url": receiver.url(), "secret": "${OPS_HMAC_SECRET}"}},
            "events": {"contract_test_failed": {"channels": ["ops"]}},
            "retry": FAST_RETRY,
        },
    )
    handle = dispatch(failed_test_event(), workspace=Workspace(workspace))
    assert handle.wait(10)

    (request,) = receiver.requests
    assert verify_signature(HMAC_SECRET, request.body, request.headers["X-Dativo-Signature"])
    assert not verify_signature("another-secret", request.body, request.headers["X-Dativo-Signature"])
    body = json.loads(request.body)
    assert body["event"] == "contract_test_failed"
    assert body["contract"] == {"id": "stripe-customers-001", "name": "stripe/customers"}
    assert body["details"]["failures"] == [{"check": "not_null", "column": "email", "failed_rows": 3}]
    assert request.headers["X-Dativo-Event"] == "contract_test_failed"

    (row,) = deliveries(workspace)
    assert (row["status"], row["attempts"], row["channel"], row["channel_type"]) == (
        "delivered",
        1,
        "ops",
        "webhook",
    )
    assert HMAC_SECRET not in json.dumps(row, default=str)


def test_a_receiver_that_fails_twice_then_succeeds_gets_three_attempts_all_stored(
    workspace: Path, receiver: Receiver
) -> None:
    receiver.plan = [503, 500]
    write_workspace_config(
        workspace,
        {
            "channels": {"ops": {"type": "webhook", "url": receiver.url()}},
            "events": {"contract_test_failed": {}},
            "retry": FAST_RETRY,
        },
    )
    assert dispatch(failed_test_event(), workspace=Workspace(workspace)).wait(10)

    assert len(receiver.requests) == 3
    assert len({r.body for r in receiver.requests}) == 1  # the same event each time
    (row,) = deliveries(workspace)
    assert (row["status"], row["attempts"]) == ("delivered", 3)
    assert [(a["attempt"], a["outcome"], a["detail"]) for a in row["attempts_detail"]] == [
        (1, "error", "HTTP 503"),
        (2, "error", "HTTP 500"),
        (3, "delivered", "HTTP 200"),
    ]
    assert row["last_error"] == "HTTP 500"


def test_attempts_exhausted_store_a_failure_and_a_client_error_is_not_retried(
    workspace: Path, receiver: Receiver
) -> None:
    receiver.default = 500
    write_workspace_config(
        workspace,
        {
            "channels": {
                "flaky": {"type": "webhook", "url": receiver.url("/flaky")},
                "gone": {"type": "webhook", "url": receiver.url("/gone")},
            },
            "events": {"contract_test_failed": {"channels": ["flaky"]}},
            "retry": FAST_RETRY,
        },
    )
    assert dispatch(failed_test_event(), workspace=Workspace(workspace)).wait(10)
    (row,) = deliveries(workspace, failed_only=True)
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 3, "HTTP 500")

    receiver.default = 404
    write_workspace_config(
        workspace,
        {
            "channels": {"gone": {"type": "webhook", "url": receiver.url("/gone")}},
            "events": {"contract_test_failed": {}},
            "retry": FAST_RETRY,
        },
    )
    assert dispatch(failed_test_event(), workspace=Workspace(workspace)).wait(10)
    gone = deliveries(workspace, failed_only=True)[0]
    assert (gone["channel"], gone["attempts"], gone["last_error"]) == ("gone", 1, "HTTP 404")


def test_slack_channel_posts_a_block_kit_message_and_the_token_in_its_url_is_never_stored(
    workspace: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    token_path = "/services/T000/B000/XXXXslacktoken"
    write_workspace_config(  # the URL written in the file itself, not from the environment
        workspace,
        {
            "channels": {"slack": {"type": "slack", "url": receiver.url(token_path)}},
            "events": {"contract_test_failed": {}},
            "retry": FAST_RETRY,
        },
    )
    setup_logging(level="DEBUG")  # httpx logs every request URL at INFO
    try:
        with caplog.at_level(logging.DEBUG):
            assert dispatch(failed_test_event(), workspace=Workspace(workspace)).wait(10)
    finally:
        setup_logging(level="WARNING")
    records = [logging.Formatter().format(r) for r in caplog.records]
    assert any("HTTP Request: POST" in r for r in records)  # the URL was logged...
    formatted = [h.format(r) for h in logging.getLogger("dativo_ingest").handlers for r in caplog.records]
    assert formatted and not any(
        "slacktoken" in line for line in formatted
    )  # ...redacted by dativo's handler

    (request,) = receiver.requests
    assert request.path == token_path
    message = json.loads(request.body)
    assert message["text"].startswith("[dativo] contract test of stripe/customers on warehouse")
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds[0] == "header" and kinds[-1] == "context" and "section" in kinds
    assert message["blocks"][0]["text"] == {"type": "plain_text", "text": "Contract test failed"}
    facts = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in message["blocks"][2]["fields"]}
    assert facts["*Contract*"] == "stripe/customers" and facts["*Event*"] == "contract_test_failed"

    (row,) = deliveries(workspace)
    assert row["target"] == f"{receiver.base}/..."
    assert "slacktoken" not in json.dumps(row, default=str)


def test_contract_notification_channels_are_the_default_route(workspace: Path, receiver: Receiver) -> None:
    write_workspace_config(
        workspace,
        {
            "channels": {
                "slack": {"type": "slack", "url": receiver.url("/slack")},
                "ops": {"type": "webhook", "url": receiver.url("/ops")},
            },
            "events": {"contract_test_failed": {}},
            "retry": FAST_RETRY,
        },
    )
    asset = contract(change_management={"notification_channels": ["slack", "email"]})
    event = events.contract_test_failed(asset, failures=[{"check": "unique", "column": "id"}])
    assert event.channels == ("slack", "email")
    assert dispatch(event, workspace=Workspace(workspace)).wait(10)
    assert [r.path for r in receiver.requests] == ["/slack"]  # "email" is not configured here

    receiver.requests.clear()
    assert dispatch(failed_test_event(), workspace=Workspace(workspace)).wait(10)
    assert sorted(r.path for r in receiver.requests) == ["/ops", "/slack"]  # no contract channels: all


def test_unreachable_webhook_is_a_stored_failure_not_a_crash(workspace: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_workspace_config(
        workspace,
        {
            "channels": {
                "ops": {"type": "webhook", "url": f"http://127.0.0.1:{port}/hook?token=abc123secret"}
            },
            "events": {"contract_test_failed": {}},
            "retry": FAST_RETRY,
        },
    )
    handle = dispatch(failed_test_event(), workspace=Workspace(workspace))
    assert handle.wait(10)
    (row,) = deliveries(workspace, failed_only=True)
    assert row["attempts"] == 3
    assert row["last_error"].startswith("cannot connect")
    assert "abc123secret" not in json.dumps(row, default=str)


def test_a_sender_error_of_one_channel_is_a_stored_failure_and_the_other_channels_still_deliver(
    workspace: Path, receiver: Receiver
) -> None:
    write_workspace_config(
        workspace,
        {
            "channels": {
                # httpx cannot encode this header value: the attempt fails outside the HTTP layer
                "bad": {"type": "webhook", "url": receiver.url(), "headers": {"X-Team": "équipe"}},
                "ok": {"type": "webhook", "url": receiver.url()},
            },
            "events": {"contract_test_failed": {"channels": ["bad", "ok"]}},
            "retry": FAST_RETRY,
        },
    )
    handle = dispatch(failed_test_event(), workspace=Workspace(workspace))
    assert handle.wait(10)
    status = {row["channel"]: row for row in deliveries(workspace)}
    assert status["ok"]["status"] == "delivered"
    assert status["bad"]["status"] == "failed", status["bad"]  # not left pending forever
    assert status["bad"]["attempts"] == 1 and "UnicodeEncodeError" in status["bad"]["last_error"]
    assert len(receiver.requests) == 1
