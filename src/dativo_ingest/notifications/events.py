"""Events: what happened, to which contract and job, and who the contract says should hear about it.

Build one with a constructor below (or :class:`Event` directly) and hand it to
:func:`dativo_ingest.notifications.dispatch`. The contract supplies the default recipients: its
``change_management.notification_channels`` (names of configured channels) and its on-call
(``data_quality.monitoring.oncall_rotation`` / ``oncall``: addresses added to email channels).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dativo_ingest.logging import redact, redact_text
from dativo_ingest.notifications.config import EVENTS
from dativo_ingest.odcs.convert import default_contract_id
from dativo_ingest.odcs.model import AssetDefinition


@dataclass(frozen=True)
class Event:
    """One notification-worthy fact. ``details`` must be JSON-able; it is redacted on construction."""

    name: str  # one of config.EVENTS
    summary: str  # one line, what a person reads first
    severity: str = "warning"  # info | warning | critical
    contract: str | None = None  # contract id
    contract_name: str | None = None  # source_type/object (the registry key)
    job: str | None = None  # tenant/job
    run_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    channels: tuple[str, ...] = ()  # the contract's notification_channels
    oncall: tuple[str, ...] = ()  # the contract's on-call addresses
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.name not in EVENTS:
            raise ValueError(f"unknown event {self.name!r}; known events: {', '.join(EVENTS)}")
        object.__setattr__(self, "summary", redact_text(self.summary))
        object.__setattr__(self, "details", redact(self.details))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document webhooks receive."""
        return {
            "event": self.name,
            "event_id": self.event_id,
            "occurred_at": self.occurred_at.isoformat(timespec="seconds"),
            "severity": self.severity,
            "summary": self.summary,
            "contract": {"id": self.contract, "name": self.contract_name} if self.contract else None,
            "job": self.job,
            "run_id": self.run_id,
            "details": self.details,
        }


def contract_fields(asset: AssetDefinition | None) -> dict[str, Any]:
    """The contract part of an event: id, registry name and default recipients."""
    if asset is None:
        return {}
    return {
        "contract": asset.id or default_contract_id(asset),
        "contract_name": f"{asset.source_type}/{asset.object_name}" if asset.source_type else asset.name,
        "channels": notification_channels(asset),
        "oncall": oncall(asset),
    }


def notification_channels(asset: AssetDefinition) -> tuple[str, ...]:
    """``change_management.notification_channels`` (a name or a list of names)."""
    value = (asset.change_management or {}).get("notification_channels")
    return _strings(value)


def oncall(asset: AssetDefinition) -> tuple[str, ...]:
    """The on-call of ``data_quality.monitoring`` (``oncall_rotation`` or ``oncall``; one or a list)."""
    monitoring = (asset.data_quality.monitoring if asset.data_quality else None) or {}
    return _strings(monitoring.get("oncall_rotation") or monitoring.get("oncall"))


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if v)
    return ()


# ----- constructors, one per event ---------------------------------------------------------------
def run_failed(
    asset: AssetDefinition | None,
    *,
    job: str,
    run_id: str | None,
    error: str,
    details: dict[str, Any] | None = None,
) -> Event:
    return Event(
        "run_failed",
        f"run of {job} failed: {error}",
        severity="critical",
        job=job,
        run_id=run_id,
        details={"error": error, **(details or {})},
        **contract_fields(asset),
    )


def quarantine_share(
    asset: AssetDefinition | None,
    *,
    job: str,
    run_id: str,
    rows_read: int,
    rows_quarantined: int,
    threshold: float,
    rule_failures: dict[str, int] | None = None,
) -> Event:
    share = rows_quarantined / rows_read if rows_read else 0.0
    return Event(
        "quarantine_share",
        f"{job}: {rows_quarantined} of {rows_read} rows quarantined ({share:.1%}, above {threshold:.1%})",
        job=job,
        run_id=run_id,
        details={
            "rows_read": rows_read,
            "rows_quarantined": rows_quarantined,
            "share": round(share, 6),
            "threshold": threshold,
            "rule_failures": dict(sorted((rule_failures or {}).items())),
        },
        **contract_fields(asset),
    )


def contract_test_failed(
    asset: AssetDefinition,
    *,
    failures: Sequence[dict[str, Any]],
    checks_run: int | None = None,
    server: str | None = None,
    run_id: str | None = None,
) -> Event:
    """``dativo contract test`` found failing checks. ``failures``: one dict per failed check, e.g.
    ``{"check": "not_null", "column": "email", "failed_rows": 3, "message": "..."}``."""
    name = f"{asset.source_type}/{asset.object_name}" if asset.source_type else asset.object_name
    where = f" on {server}" if server else ""
    return Event(
        "contract_test_failed",
        f"contract test of {name}{where}: {len(failures)} check(s) failed",
        severity="critical",
        run_id=run_id,
        details={"failures": list(failures), "checks_run": checks_run, "server": server},
        **contract_fields(asset),
    )


def cost_anomaly(asset: AssetDefinition | None, *, job: str, run_id: str, anomaly: dict[str, Any]) -> Event:
    """One finding of :func:`dativo_ingest.finops.anomalies.detect` (``type``, ``severity``, ...)."""
    return Event(
        "cost_anomaly",
        f"{job}: {anomaly.get('message') or anomaly.get('type')}",
        severity="critical" if anomaly.get("severity") == "high" else "warning",
        job=job,
        run_id=run_id,
        details=dict(anomaly),
        **contract_fields(asset),
    )


def breaking_change_forced(
    asset: AssetDefinition,
    *,
    version: str,
    previous_version: str | None,
    required_version: str | None,
    change_type: str,
    changes: Sequence[Any],
    author: str,
) -> Event:
    name = f"{asset.source_type}/{asset.object_name}"
    return Event(
        "breaking_change_forced",
        f"{name} {version} saved with force over {previous_version} ({change_type}; "
        f"needed >= {required_version}) by {author}",
        severity="critical" if change_type == "breaking" else "warning",
        details={
            "version": version,
            "previous_version": previous_version,
            "required_version": required_version,
            "change_type": change_type,
            "saved_by": author,
            "changes": [str(c) for c in changes],
        },
        **contract_fields(asset),
    )


def sla_breached(asset: AssetDefinition, breach: dict[str, Any]) -> Event:
    """One breach of :func:`dativo_ingest.sla.check_contract` (``property``, ``message``, ...); the
    summary names the contract, as an email subject read on its own must."""
    fields = contract_fields(asset)
    message = str(breach.get("message") or f"SLA {breach.get('property')} breached")
    return Event(
        "sla_breached",
        f"{fields['contract_name']} {asset.version}: {message}",
        severity="critical",
        run_id=breach.get("run_id"),
        details=dict(breach),
        event_id=breach_id(fields.get("contract"), breach),
        **fields,
    )


def breach_id(contract: str | None, breach: dict[str, Any]) -> str:
    """The same id for the same breach however often it is checked: the contract, the rule, the kind and
    the run and due time it is measured from (a later due time is a new breach)."""
    key = [contract, breach.get("property"), breach.get("kind"), breach.get("run_id"), breach.get("due_at")]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32]
