"""The policy guard: decides with the pure rules and records every decision in the audit log.

:meth:`PolicyGuard.audited` wraps one operation: whatever happens inside (allowed, denied, not found,
bad input, crash), exactly one audit row is written on the way out, and if that write fails the caller
gets a :class:`~dativo_ingest.errors.StoreError` instead of the data (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dativo_ingest.errors import (
    AuthenticationError,
    DativoError,
    NotFoundError,
    PolicyDenied,
    StoreError,
    UsageError,
)
from dativo_ingest.logging import get_logger
from dativo_ingest.policy.config import PolicyConfig, load_policy
from dativo_ingest.policy.keyids import key_id_of
from dativo_ingest.policy.rules import REQUESTER_RULES, AccessRequest, Decision, evaluate, in_full
from dativo_ingest.store import audit
from dativo_ingest.store.database import MetadataStore

logger = get_logger(__name__)
ANONYMOUS = "anonymous"
UNAUTHENTICATED = "unauthenticated"
#: names the audit log uses for callers without an identity; no API key may be bound to them
RESERVED_REQUESTERS = frozenset({ANONYMOUS, UNAUTHENTICATED})
_REQUESTER = re.compile(r"^[\w.@:+/-]{1,255}$")


# not the ``//host/...`` of a URL (``https://api.x.com/v1/foo`` is kept): no match at ``://``
_ABS_PATH = re.compile(
    r"(?<![\w.~-])(?!(?<=:)//)(?<!:/)(?:[A-Za-z]:)?[/\\](?:[^\s'\"/\\,;()]+[/\\])+[^\s'\",;()]*"
)


def scrub_paths(text: str) -> str:
    """``text`` without server filesystem paths (for messages that leave the server or the audit log)."""
    return _ABS_PATH.sub("<server path>", text)


def requester_name(requester: Any) -> str:
    """A validated requester identity (None -> ``anonymous``)."""
    if requester is None:
        return ANONYMOUS
    if not isinstance(requester, str) or not _REQUESTER.match(requester):
        raise UsageError("requester must be 1-255 letters, digits or . @ : + / - _", field="requester")
    return requester


@dataclass
class AuditEntry:
    """The decision being made inside :meth:`PolicyGuard.audited`; fill in as the operation learns more."""

    requester: str
    action: str
    resource_type: str
    resource_id: str
    channel: str
    allowed: bool = True
    outcome: str = "allowed"
    reason: str = "allowed"
    details: dict[str, Any] = field(default_factory=dict)

    def decide(self, decision: Decision) -> None:
        self.allowed, self.reason = decision.allowed, decision.reason
        self.outcome = "allowed" if decision.allowed else "denied"
        self.details["rule"] = decision.rule


class PolicyGuard:
    """Policy decisions plus audit. ``config`` is a dict, a YAML file path, a PolicyConfig or None."""

    def __init__(
        self, config: PolicyConfig | dict[str, Any] | str | Path | None = None, *, store: Any = None
    ) -> None:
        self.policy = load_policy(config)
        self._store = store

    # ----- store ------------------------------------------------------------------------------
    @property
    def store(self) -> Any:
        """The metadata store decisions are recorded in (the workspace's unless given)."""
        if self._store is None:
            self._store = MetadataStore.for_workspace()
        elif isinstance(self._store, str):
            self._store = MetadataStore(self._store)
        return self._store

    def bind_store(self, store: Any) -> None:
        """Record into ``store`` unless a store was chosen already."""
        if self._store is None:
            self._store = store

    # ----- decisions --------------------------------------------------------------------------
    def evaluate(self, request: AccessRequest, *, requester_only: bool = False) -> Decision:
        """The decision for ``request`` (pure, not recorded)."""
        return (
            evaluate(self.policy, request, REQUESTER_RULES)
            if requester_only
            else evaluate(self.policy, request)
        )

    def check_access(
        self,
        resource_type: str,
        resource_id: str,
        requester: str,
        classification: str | list[str] | None = None,
        *,
        tenant: str | None = None,
        channel: str = "python",
    ) -> tuple[bool, str | None]:
        """May ``requester`` see this resource *in full*? ``(True, None)``, or ``(False, reason)``; recorded.

        A resource of a restricted classification is refused to a requester who is not elevated, whatever
        ``on_restricted`` says: the redacted view the context API serves such a requester is not the full
        resource. Each call is one audit row (action ``check_access``) with the answer given.
        """
        labels = [classification] if isinstance(classification, str) else list(classification or [])
        with self.audited(requester, "check_access", resource_type, resource_id, channel) as entry:
            request = AccessRequest(
                entry.requester,
                "check_access",
                resource_type,
                resource_id,
                frozenset(str(c).upper() for c in labels),
                tenant,
            )
            decision = in_full(self.evaluate(request), request)
            entry.decide(decision)
        return decision.allowed, None if decision.allowed else decision.reason

    def enforce(self, entry: AuditEntry, decision: Decision) -> None:
        """Put ``decision`` on ``entry``; raise :class:`PolicyDenied` (a PermissionError) when it refuses."""
        entry.decide(decision)
        if not decision.allowed:
            raise PolicyDenied(decision.reason, requester=entry.requester)

    def require_requester(self, entry: AuditEntry) -> None:
        """Refuse early a requester the allow list excludes (before any resource is looked up)."""
        decision = self.evaluate(
            AccessRequest(entry.requester, entry.action, entry.resource_type, entry.resource_id),
            requester_only=True,
        )
        if not decision.allowed:
            self.enforce(entry, decision)

    def record_unauthenticated(
        self, resource_id: str, channel: str, reason: str, presented: str | None = None
    ) -> None:
        """Record a request refused for want of a valid API key; ``details.key_id`` names the presented
        key's id when it parses as one (so a revoked key can be traced; the secret is never recorded)."""
        entry = AuditEntry(
            UNAUTHENTICATED,
            "authenticate",
            "api",
            resource_id[:512],
            channel,
            allowed=False,
            outcome="unauthenticated",
            reason=reason,
        )
        key_id = key_id_of(presented)
        if key_id is not None:
            entry.details["key_id"] = key_id
        self._record(entry, None)

    def record_invalid(
        self, requester: str, action: str, resource_id: str, channel: str, reason: str, **details: Any
    ) -> None:
        """Record an authenticated request refused as invalid before it reached an operation."""
        entry = AuditEntry(
            requester_name(requester),
            action[:64],
            "api",
            resource_id[:512],
            channel,
            allowed=False,
            outcome="invalid",
            reason=scrub_paths(reason),
            details=details,
        )
        self._record(entry, None)

    @contextmanager
    def audited(
        self, requester: Any, action: str, resource_type: str, resource_id: str, channel: str = "python"
    ) -> Iterator[AuditEntry]:
        """Run one operation and record exactly one audit row for it, whatever its outcome."""
        name = requester if isinstance(requester, str) and requester else ANONYMOUS
        entry = AuditEntry(name[:255], action, resource_type, resource_id[:512], channel)
        failure: BaseException | None = None
        try:
            entry.requester = requester_name(requester)
            yield entry
        except BaseException as exc:
            failure = exc
            entry.allowed = False
            if isinstance(exc, PolicyDenied):
                if entry.outcome != "denied":
                    entry.reason = exc.message
                entry.outcome = "denied"
            elif isinstance(exc, AuthenticationError):
                entry.outcome, entry.reason = "unauthenticated", exc.message
            elif isinstance(exc, NotFoundError):
                if entry.outcome != "denied":  # a denial answered as not found keeps its real reason
                    entry.outcome, entry.reason = "not_found", scrub_paths(str(exc))
            elif isinstance(exc, UsageError):
                entry.outcome, entry.reason = "invalid", scrub_paths(str(exc))
            else:
                entry.outcome = "error"
                entry.reason = scrub_paths(str(exc)) if isinstance(exc, DativoError) else type(exc).__name__
            raise
        finally:
            self._record(entry, failure)

    def _record(self, entry: AuditEntry, failure: BaseException | None) -> None:
        try:
            audit.insert(
                self.store,
                {
                    "requester": entry.requester,
                    "channel": entry.channel,
                    "action": entry.action,
                    "resource_type": entry.resource_type,
                    "resource_id": entry.resource_id,
                    "allowed": entry.allowed,
                    "outcome": entry.outcome,
                    "reason": entry.reason[:2000],
                    "details": entry.details,
                },
            )
        except DativoError as exc:
            logger.error("audit write failed", extra={"fields": {"action": entry.action, "error": str(exc)}})
            if failure is None:
                raise StoreError(f"decision not recorded, request refused: {exc}") from exc
