"""What each channel type sends: a webhook's JSON body and signature, a Slack message, an email.

Pure functions of the event (deterministic: sorted keys, no clock), so a receiver can verify a
signature over exactly the bytes it received.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from email.message import EmailMessage
from typing import Any

from dativo_ingest.notifications.events import Event

SIGNATURE_PREFIX = "sha256="
SLACK_TEXT_LIMIT = 2900  # Block Kit section text is limited to 3000 characters


def webhook_body(event: Event) -> bytes:
    """The event as compact JSON with sorted keys (what the signature covers)."""
    return json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":"), default=str).encode()


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``, as in the ``X-Dativo-Signature`` header."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """True when ``header`` is the signature of ``body`` under ``secret`` (constant-time compare)."""
    return hmac.compare_digest(signature(secret, body), header or "")


def slack_message(event: Event) -> dict[str, Any]:
    """A Block Kit message: header, summary, facts, and a context line (``text`` is the fallback)."""
    facts = [
        ("Event", event.name),
        ("Severity", event.severity),
        ("Contract", event.contract_name or event.contract),
        ("Job", event.job),
        ("Run", event.run_id),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _title(event)[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(event.summary)[:SLACK_TEXT_LIMIT]}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{_mrkdwn(str(v))}"} for k, v in facts if v],
        },
    ]
    detail = _detail_lines(event)
    if detail:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": ("```" + detail + "```")[:SLACK_TEXT_LIMIT]},
            }
        )
    when = event.occurred_at.isoformat(timespec="seconds")
    context = {"type": "mrkdwn", "text": f"dativo · event {event.event_id} · {when}"}
    blocks.append({"type": "context", "elements": [context]})
    return {"text": f"[dativo] {event.summary}", "blocks": blocks}


def email_message(event: Event, sender: str, recipients: list[str]) -> EmailMessage:
    """A plain-text email: subject ``[dativo] <summary>``, the facts and the details."""
    message = EmailMessage()
    message["Subject"] = f"[dativo] {event.summary}"[:200]
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["X-Dativo-Event"] = event.name
    lines = [
        event.summary,
        "",
        f"event:     {event.name} ({event.severity})",
        f"contract:  {event.contract_name or event.contract or '-'}",
        f"job:       {event.job or '-'}",
        f"run:       {event.run_id or '-'}",
        f"when:      {event.occurred_at.isoformat(timespec='seconds')}",
        f"event id:  {event.event_id}",
    ]
    detail = _detail_lines(event)
    if detail:
        lines += ["", "details:", detail]
    message.set_content("\n".join(lines) + "\n")
    return message


def _title(event: Event) -> str:
    return {
        "run_failed": "Run failed",
        "quarantine_share": "Rows quarantined above threshold",
        "contract_test_failed": "Contract test failed",
        "cost_anomaly": "Cost anomaly",
        "breaking_change_forced": "Breaking change forced",
        "sla_breached": "SLA breached",
    }.get(event.name, event.name)


def _detail_lines(event: Event) -> str:
    return json.dumps(event.details, sort_keys=True, indent=2, default=str) if event.details else ""


def _mrkdwn(text: str) -> str:
    """Escape the three characters Slack treats as control sequences."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
