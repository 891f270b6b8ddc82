"""``dativo sla check``: a contract's SLA rules evaluated over the store's run history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dativo_ingest.notifications import dispatch, events
from dativo_ingest.notifications.delivery import Dispatch
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.sla.rules import FREQUENCY, FREQUENCY_PERIODS, SlaSubject, evaluate, sla_rules
from dativo_ingest.store import notifications as notification_store
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.run_history import contract_runs
from dativo_ingest.workspace import Workspace


def check_contract(
    store: MetadataStore, contract: AssetDefinition | SlaSubject, now: datetime | None = None
) -> dict[str, Any]:
    """``{contract, name, version, checked_at, status, results, breaches}`` for one contract as of
    ``now``. ``status``: ``breached`` (any breach), ``met`` (every checked rule met), ``none`` (no rule
    checkable from run history).
    """
    at = (now or datetime.now(UTC)).astimezone(UTC)
    subject = contract if isinstance(contract, SlaSubject) else SlaSubject.of(contract)
    rules = subject.rules
    windows = [
        r.window * (FREQUENCY_PERIODS + 1 if r.name.lower() in FREQUENCY else 1) for r in rules if r.window
    ]
    runs = []
    if windows:
        runs = contract_runs(
            store,
            contract_id=subject.contract_id,
            source_type=subject.source_type,
            object_name=subject.object_name if subject.source_type else None,
            since=at - max(windows) * 2,
            until=at,
        )
    results = evaluate(rules, runs, at)
    breaches = [b for r in results for b in r.breaches]
    checked = [r for r in results if r.status != "not_checked"]
    return {
        "contract": subject.contract_id,
        "name": subject.name,
        "version": subject.version,
        "checked_at": at.isoformat(timespec="seconds"),
        "status": "breached" if breaches else ("met" if checked else "none"),
        "results": [r.to_dict() for r in results],
        "breaches": breaches,
    }


def sla_status(
    store: MetadataStore, contract: AssetDefinition | SlaSubject, now: datetime | None = None
) -> dict[str, Any]:
    """The compact form the AI context carries: ``{status, checked_at, breaches, rules}``."""
    report = check_contract(store, contract, now)
    return {
        "status": report["status"],
        "checked_at": report["checked_at"],
        "breaches": [b["message"] for b in report["breaches"]],
        "rules": [
            {"property": r["property"], "value": r["value"], "unit": r["unit"], "status": r["status"]}
            for r in report["results"]
        ],
    }


def notify_breaches(
    report: dict[str, Any], asset: AssetDefinition, workspace: Workspace | None = None
) -> list[Dispatch]:
    """One ``sla_breached`` event per breach of ``report`` (see :func:`check_contract`) not announced
    before: a check run every few minutes announces an ongoing breach once (a failed delivery is retried
    by the next check)."""
    ws = workspace or Workspace.current()
    store = MetadataStore.for_workspace(ws)
    fresh = [events.sla_breached(asset, breach) for breach in report["breaches"]]
    return [dispatch(e, workspace=ws) for e in fresh if not notification_store.announced(store, e.event_id)]


def check_contracts(
    store: MetadataStore, assets: Sequence[AssetDefinition], now: datetime | None = None
) -> list[dict[str, Any]]:
    """:func:`check_contract` for each contract that declares SLA properties, in the given order."""
    at = now or datetime.now(UTC)
    return [check_contract(store, a, at) for a in assets if sla_rules(a)]
