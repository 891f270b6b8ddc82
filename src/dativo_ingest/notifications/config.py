"""The ``notifications:`` section: channels, the events routed to them, retries and timeouts.

Read from the workspace's ``dativo.yaml`` and overridable per job (a job's ``notifications:`` section
replaces channels and events of the same name and any scalar setting; ``enabled: false`` silences the
job)::

    notifications:
      channels:
        slack: {type: slack, url: "${SLACK_WEBHOOK_URL}"}
        ops: {type: webhook, url: "https://ops.example.com/hook", secret: "${OPS_HMAC_SECRET}"}
        email: {type: email, host: smtp.example.com, port: 587, security: starttls,
                username: "${SMTP_USER}", password: "${SMTP_PASSWORD}", sender: dativo@example.com}
      events:
        run_failed: {channels: [slack, ops]}
        quarantine_share: {threshold: 0.05}       # no channels: the contract's notification_channels
        cost_anomaly: {min_severity: high}
      retry: {attempts: 4, backoff_seconds: 1, max_backoff_seconds: 60}
      timeout_seconds: 10

``${VAR}`` references are resolved when the file is read and registered as secrets (never logged).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dativo_ingest.config_errors import config_error
from dativo_ingest.envsubst import substitute
from dativo_ingest.errors import ConfigError
from dativo_ingest.logging import register_secret
from dativo_ingest.workspace import Workspace
from dativo_ingest.yamlio import line_of, load_mapping

SECTION = "notifications"
WORKSPACE_FILE = "dativo.yaml"

#: Every event dativo emits, in the order the docs list them.
EVENTS = (
    "run_failed",
    "quarantine_share",
    "contract_test_failed",
    "cost_anomaly",
    "breaking_change_forced",
    "sla_breached",
)
SEVERITIES = ("medium", "high")  # FinOps anomaly severities, lowest first


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _http_url(url: str) -> str:
    """An ``http(s)://host[:port]/...`` URL a request can be sent to (checked without echoing it: the
    URL may hold a token)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"not a URL a request can be sent to ({str(exc).split(':')[0]})") from None
    if not parts.hostname:
        raise ValueError("not a URL a request can be sent to (no host)")
    return url


class WebhookChannel(_Model):
    """A generic webhook: the event as JSON, signed with HMAC-SHA256 when ``secret`` is given."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret: str | None = None
    signature_header: str = "X-Dativo-Signature"
    headers: dict[str, str] = Field(default_factory=dict)

    _url = field_validator("url")(_http_url)


class SlackChannel(_Model):
    """A Slack-compatible incoming webhook (Block Kit payload; Mattermost and others accept it too)."""

    type: Literal["slack"]
    url: str = Field(pattern=r"^https?://")

    _url = field_validator("url")(_http_url)


class EmailChannel(_Model):
    """Email over SMTP; recipients are ``to`` plus the contract's on-call (unless ``oncall: false``)."""

    type: Literal["email"]
    host: str
    port: int | None = Field(None, ge=1, le=65535)  # default: 465 for ssl, 587 for starttls, 25 for none
    security: Literal["starttls", "ssl", "none"] = "starttls"
    ca_file: str | None = None  # a CA bundle to trust besides the system's (an internal CA)
    username: str | None = None
    password: str | None = None
    sender: str = Field(alias="from")
    to: list[str] = Field(default_factory=list)
    oncall: bool = True

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.security]


Channel = Annotated[WebhookChannel | SlackChannel | EmailChannel, Field(discriminator="type")]


class EventRoute(_Model):
    """Where one event goes, and when: ``threshold`` (quarantine_share), ``min_severity`` (cost_anomaly)."""

    channels: list[str] | None = None  # None: the contract's notification_channels, else every channel
    threshold: float | None = Field(None, ge=0, le=1)
    min_severity: Literal["medium", "high"] | None = None


class RetryConfig(_Model):
    """Attempts per delivery; the wait before attempt n+1 is ``backoff_seconds * 2**(n-1)``, capped."""

    attempts: int = Field(4, ge=1, le=20)
    backoff_seconds: float = Field(1.0, ge=0, le=3600)
    max_backoff_seconds: float = Field(60.0, ge=0, le=3600)


class NotificationsConfig(_Model):
    """A validated ``notifications:`` section."""

    enabled: bool = True
    channels: dict[str, Channel] = Field(default_factory=dict)
    events: dict[str, EventRoute] = Field(default_factory=dict)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _secrets_are_registered(self) -> NotificationsConfig:
        """Webhook URLs (tokens live in their paths), HMAC secrets and SMTP passwords are redacted from
        every log line and error, whether or not they came from ``${VAR}`` (httpx logs request URLs)."""
        for channel in self.channels.values():
            for value in (getattr(channel, name, None) for name in ("url", "secret", "password")):
                register_secret(value)
        return self

    @model_validator(mode="after")
    def _routes_name_channels(self) -> NotificationsConfig:
        for event, route in self.events.items():
            for name in route.channels or []:
                if name not in self.channels:
                    raise ValueError(
                        f"events.{event} names channel {name!r}, which is not configured "
                        f"(channels: {', '.join(sorted(self.channels)) or 'none'})"
                    )
            for option, owner in (("threshold", "quarantine_share"), ("min_severity", "cost_anomaly")):
                if getattr(route, option) is not None and event != owner:
                    raise ValueError(f"events.{event}.{option} applies to {owner} only")
        return self

    def route(self, event: str) -> EventRoute | None:
        return self.events.get(event) if self.enabled else None


def check_section(
    raw: Any, *, path: str | Path | None, text: str | None = None, partial: bool = False
) -> NotificationsConfig | None:
    """Validate a raw ``notifications:`` mapping; errors name ``path`` and ``notifications.<key>``.

    ``partial`` (a job's override) skips the check that routed channels exist: they may be defined in
    the workspace file; the merged section is checked again before it is used.
    """
    if raw is None:
        return None
    check_events(raw, path=path, text=text)
    events = raw.get("events")
    if partial:  # routed channels may live in the workspace file
        raw = {
            **raw,
            "events": {
                k: {**v, "channels": None} if isinstance(v, dict) else v for k, v in (events or {}).items()
            },
        }
    try:
        return NotificationsConfig.model_validate(_none_routes(raw))
    except ValidationError as exc:
        error = config_error(exc, path=path)
        field = f"{SECTION}.{_without_channel_tag(error.field)}" if error.field else SECTION
        raise ConfigError(error.message, path=path, field=field, line=_line(text, field)) from None


def check_events(raw: Any, *, path: str | Path | None, text: str | None = None) -> None:
    """The section is a mapping and names only known events (checked before ``${VAR}`` substitution)."""
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping", path=path, field=SECTION, line=_line(text, SECTION))
    events = raw.get("events")
    if events is not None and not isinstance(events, dict):
        field = f"{SECTION}.events"
        raise ConfigError(
            "must be a mapping of event name -> route", path=path, field=field, line=_line(text, field)
        )
    for name in events or {}:
        if name not in EVENTS:
            field = f"{SECTION}.events.{name}"
            raise ConfigError(
                f"unknown event {name!r}; known events: {', '.join(EVENTS)}",
                path=path,
                field=field,
                line=_line(text, field),
            )


def merge(workspace: dict[str, Any] | None, job: dict[str, Any] | None) -> dict[str, Any] | None:
    """The workspace section with a job's override applied (channels and events merged by name)."""
    if not job:
        return workspace
    merged = dict(workspace or {})
    for key, value in job.items():
        if key in ("channels", "events", "retry") and isinstance(value, dict):
            merged[key] = {**(merged.get(key) or {}), **value}
        else:
            merged[key] = value
    return merged


def workspace_section(workspace: Workspace) -> tuple[dict[str, Any] | None, Path, str | None]:
    """The raw (``${VAR}``-resolved) section of the workspace's ``dativo.yaml``, that file's path and
    text."""
    file = workspace.root / WORKSPACE_FILE
    if not file.is_file():
        return None, file, None
    raw = load_mapping(file).get(SECTION)
    if raw is None:
        return None, file, None
    text = file.read_text(encoding="utf-8")
    check_events(raw, path=file, text=text)
    return substitute(raw, path=SECTION, source=str(file)), file, text


def load_config(
    workspace: Workspace, job_section: dict[str, Any] | None = None, job_path: str | None = None
) -> NotificationsConfig | None:
    """The effective configuration: the workspace file's section, overridden by a job's (or None)."""
    raw, file, text = workspace_section(workspace)
    if job_section:
        check_section(job_section, path=job_path, partial=True)
        return check_section(merge(raw, job_section), path=job_path)
    return check_section(raw, path=file, text=text)


def _none_routes(raw: dict[str, Any]) -> dict[str, Any]:
    """``events: {run_failed: }`` (an empty route) means the defaults."""
    events = raw.get("events")
    if isinstance(events, dict):
        return {**raw, "events": {k: ({} if v is None else v) for k, v in events.items()}}
    return raw


def _without_channel_tag(field: str) -> str:
    """``channels.ops.webhook.url`` -> ``channels.ops.url``: pydantic puts the channel's ``type`` tag
    in an error's location, but the file has no such key."""
    return re.sub(r"^(channels\.[^.]+)\.(?:webhook|slack|email)(?=\.|$)", r"\1", field)


def _line(text: str | None, field: str) -> int | None:
    return line_of(text, field) if text else None
