"""Send one payload over one channel, once: HTTP POST (webhook, Slack) or SMTP (email).

A failed attempt raises :class:`DeliveryFailed` with a short, secret-free reason (``HTTP 503``,
``timed out after 2.0s``, ``connection refused``); ``permanent`` says whether retrying can help.
Targets are described without credentials or URL paths (Slack and most webhook tokens live there).
"""

from __future__ import annotations

import json
import smtplib
import ssl
from urllib.parse import urlsplit

import httpx

from dativo_ingest.logging import redact_text
from dativo_ingest.notifications import payloads
from dativo_ingest.notifications.config import EmailChannel, SlackChannel, WebhookChannel
from dativo_ingest.notifications.events import Event

USER_AGENT = "dativo-notifications/1"


class DeliveryFailed(Exception):
    """One attempt failed; ``reason`` is safe to log and store."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def describe(channel: WebhookChannel | SlackChannel | EmailChannel) -> str:
    """Where a channel delivers, without secrets: ``https://host:port/...`` or ``smtp://host:port``."""
    if isinstance(channel, EmailChannel):
        scheme = "smtps" if channel.security == "ssl" else "smtp"
        return f"{scheme}://{channel.host}:{channel.effective_port}"
    return describe_url(channel.url)


def attempt(
    channel: WebhookChannel | SlackChannel | EmailChannel,
    event: Event,
    *,
    timeout: float,
    recipients: list[str] | None = None,
) -> str:
    """:func:`send`, with any other error (a header httpx cannot encode, say) a permanent
    :class:`DeliveryFailed`: every attempt ends stored as delivered or failed, never left pending."""
    try:
        return send(channel, event, timeout=timeout, recipients=recipients)
    except DeliveryFailed:
        raise
    except Exception as exc:
        url = getattr(channel, "url", None)
        raise DeliveryFailed(f"{type(exc).__name__}: {_reason(exc, url)}", permanent=True) from None


def send(
    channel: WebhookChannel | SlackChannel | EmailChannel,
    event: Event,
    *,
    timeout: float,
    recipients: list[str] | None = None,
) -> str:
    """Deliver ``event`` once; returns a short outcome (``HTTP 200``, ``250 accepted for 2``)."""
    if isinstance(channel, EmailChannel):
        return _send_email(channel, event, recipients or [], timeout)
    if isinstance(channel, SlackChannel):
        body = _json_bytes(payloads.slack_message(event))
        return _post(channel.url, body, {"Content-Type": "application/json"}, timeout)
    body = payloads.webhook_body(event)
    headers = {"Content-Type": "application/json", "X-Dativo-Event": event.name, **channel.headers}
    if channel.secret:
        headers[channel.signature_header] = payloads.signature(channel.secret, body)
    return _post(channel.url, body, headers, timeout)


def _json_bytes(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> str:
    try:
        response = httpx.post(
            url,
            content=body,
            headers={"User-Agent": USER_AGENT, **headers},
            timeout=timeout,
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        raise DeliveryFailed(f"timed out after {timeout:g}s") from None
    except httpx.ConnectError as exc:
        raise DeliveryFailed(f"cannot connect: {_reason(exc, url)}") from None
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {_reason(exc, url)}") from None
    if response.is_success:
        return f"HTTP {response.status_code}"
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 425, 429)
    raise DeliveryFailed(f"HTTP {response.status_code}", permanent=permanent)


def _send_email(channel: EmailChannel, event: Event, recipients: list[str], timeout: float) -> str:
    if not recipients:
        raise DeliveryFailed(
            "no recipients: give the channel 'to' or the contract an on-call", permanent=True
        )
    message = payloads.email_message(event, channel.sender, recipients)
    port = channel.effective_port
    try:
        context = ssl.create_default_context(cafile=channel.ca_file) if channel.security != "none" else None
        if channel.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(channel.host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(channel.host, port, timeout=timeout)
        with client:
            if channel.security == "starttls":
                client.starttls(context=context)
            if channel.username:
                client.login(channel.username, channel.password or "")
            refused = client.send_message(message, to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailed(f"SMTP authentication failed ({exc.smtp_code})", permanent=True) from None
    except smtplib.SMTPNotSupportedError as exc:  # STARTTLS or AUTH the server does not offer
        raise DeliveryFailed(f"SMTP error: {_reason(exc, None)}", permanent=True) from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryFailed("SMTP server refused every recipient", permanent=True) from None
    except TimeoutError:
        raise DeliveryFailed(f"timed out after {timeout:g}s") from None
    except smtplib.SMTPException as exc:
        raise DeliveryFailed(f"SMTP error: {_reason(exc, None)}") from None
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryFailed(f"cannot connect: {_reason(exc, None)}") from None
    accepted = len(recipients) - len(refused)
    return f"accepted for {accepted} recipient(s)" + (f", refused {len(refused)}" if refused else "")


def _reason(exc: BaseException, url: str | None) -> str:
    """The exception's text with the URL (tokens in its path) and any secret removed."""
    text = str(exc) or type(exc).__name__
    if url:
        text = text.replace(url, describe_url(url))
    return redact_text(text)[:300]


def describe_url(url: str) -> str:
    """``scheme://host:port/...``: the path and query (where tokens live) and any user info dropped."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    rest = "/..." if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}{rest}"
