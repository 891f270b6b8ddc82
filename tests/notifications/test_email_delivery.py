"""Email over a real SMTP server (aiosmtpd on 127.0.0.1): recipients, login, nothing secret stored."""

from __future__ import annotations

import json
import logging
from email import message_from_string
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dativo_ingest.cli.app import app
from dativo_ingest.notifications import dispatch, events
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.workspace import Workspace
from tests.ingest.helpers import CUSTOMERS_CONTRACT
from tests.notifications.helpers import FAST_RETRY, deliveries, write_workspace_config
from tests.receivers import Mailbox

PASSWORD = "smtp-pass-5ecret"


def email_config(box: Mailbox, **channel: object) -> dict:
    return {
        "channels": {
            "email": {
                "type": "email",
                "host": box.host,
                "port": box.port,
                "security": "none",
                "username": "dativo",
                "password": "${SMTP_PASSWORD}",
                "from": "dativo@example.com",
                "to": ["data-team@example.com"],
                **channel,
            }
        },
        "events": {"contract_test_failed": {}},
        "retry": FAST_RETRY,
    }


def oncall_contract() -> AssetDefinition:
    return AssetDefinition.from_dict(
        {
            **CUSTOMERS_CONTRACT,
            "data_quality": {"monitoring": {"enabled": True, "oncall_rotation": "oncall@example.com"}},
        }
    )


def test_email_reaches_the_channel_recipients_and_the_contract_oncall_after_login(
    workspace: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    write_workspace_config(workspace, email_config(smtp_server))
    event = events.contract_test_failed(oncall_contract(), failures=[{"check": "unique", "column": "id"}])
    with caplog.at_level(logging.DEBUG, logger="dativo_ingest"):
        assert dispatch(event, workspace=Workspace(workspace)).wait(10)

    (message,) = smtp_server.wait_for(1)
    assert smtp_server.logins == [("dativo", PASSWORD)]
    assert message["mail_from"] == "dativo@example.com"
    assert message["rcpt_tos"] == ["data-team@example.com", "oncall@example.com"]
    parsed = message_from_string(message["content"])
    assert parsed["Subject"] == "[dativo] contract test of stripe/customers: 1 check(s) failed"
    assert parsed["X-Dativo-Event"] == "contract_test_failed"
    assert '"column": "id"' in parsed.get_payload()

    (row,) = deliveries(workspace)
    assert (row["status"], row["target"]) == ("delivered", f"smtp://127.0.0.1:{smtp_server.port}")
    assert row["attempts_detail"][0]["detail"] == "accepted for 2 recipient(s)"
    listed = CliRunner().invoke(app, ["notifications", "list", "--json"])
    assert listed.exit_code == 0 and "delivered" in listed.output
    (listed_row,) = json.loads(listed.output)  # times as ISO 8601, as the rest of the CLI's JSON
    assert "T" in listed_row["created_at"] and "T" in listed_row["attempts_detail"][0]["attempted_at"]
    for text in (json.dumps(row, default=str), listed.output, caplog.text):
        assert PASSWORD not in text


def test_a_wrong_smtp_password_is_a_stored_permanent_failure_without_the_password(
    workspace: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-pass-9876")
    write_workspace_config(workspace, email_config(smtp_server))
    event = events.contract_test_failed(oncall_contract(), failures=[])
    with caplog.at_level(logging.DEBUG, logger="dativo_ingest"):
        assert dispatch(event, workspace=Workspace(workspace)).wait(10)
    assert smtp_server.messages == []
    (row,) = deliveries(workspace, failed_only=True)
    assert row["attempts"] == 1  # authentication failures are not retried
    assert row["last_error"].startswith("SMTP authentication failed")
    listed = CliRunner().invoke(app, ["notifications", "list", "--failed"])
    assert "failed" in listed.output and "SMTP authentication failed" in listed.output
    for text in (json.dumps(row, default=str), listed.output, caplog.text):
        assert "wrong-pass-9876" not in text


def test_an_email_channel_without_recipients_fails_once_and_says_why(
    workspace: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    write_workspace_config(workspace, email_config(smtp_server, to=[]))
    event = events.contract_test_failed(AssetDefinition.from_dict(CUSTOMERS_CONTRACT), failures=[])
    assert dispatch(event, workspace=Workspace(workspace)).wait(10)
    (row,) = deliveries(workspace, failed_only=True)
    assert (row["attempts"], row["last_error"]) == (
        1,
        "no recipients: give the channel 'to' or the contract an on-call",
    )


@pytest.mark.parametrize("smtp_server", ["starttls", "ssl"], indirect=True)
def test_email_over_starttls_and_implicit_tls_verifies_the_server_certificate(
    workspace: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    mode = smtp_server.security
    write_workspace_config(workspace, email_config(smtp_server, security=mode, ca_file=smtp_server.ca_file))
    event = events.contract_test_failed(oncall_contract(), failures=[])
    assert dispatch(event, workspace=Workspace(workspace)).wait(10)
    (message,) = smtp_server.wait_for(1)
    assert message["rcpt_tos"] == ["data-team@example.com", "oncall@example.com"]
    assert smtp_server.logins == [("dativo", PASSWORD)]
    assert deliveries(workspace)[0]["target"].startswith("smtps://" if mode == "ssl" else "smtp://")

    # without the certificate's CA the server is not trusted: a stored failure, never plain text
    write_workspace_config(workspace, email_config(smtp_server, security=mode))
    assert dispatch(event, workspace=Workspace(workspace)).wait(10)
    failed = deliveries(workspace, failed_only=True)[0]
    assert "CERTIFICATE_VERIFY_FAILED" in failed["last_error"] or "certificate" in failed["last_error"]
    assert len(smtp_server.messages) == 1


def test_starttls_asked_of_a_server_without_it_is_a_permanent_failure_tried_once(
    workspace: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    write_workspace_config(workspace, email_config(smtp_server, security="starttls"))
    event = events.contract_test_failed(oncall_contract(), failures=[])
    assert dispatch(event, workspace=Workspace(workspace)).wait(10)
    assert smtp_server.messages == []
    (row,) = deliveries(workspace, failed_only=True)
    assert row["attempts"] == 1, row["attempts_detail"]  # retrying cannot make the server offer it
    assert "STARTTLS" in row["last_error"]
