"""After a run (committed or failed): its row in the run history, then its notifications.

Both happen after the commit (or the abort) and neither can fail the run: a store error becomes a run
warning, and notifications are handed to background delivery (:func:`dativo_ingest.notifications.dispatch`).
Events: ``run_failed``; ``quarantine_share`` (above the route's threshold); ``cost_anomaly`` (the run's
FinOps record against the job's history, at or above the route's severity).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dativo_ingest.errors import ConfigError, DativoError
from dativo_ingest.logging import get_logger, redact_text
from dativo_ingest.notifications import dispatch, events, load_config
from dativo_ingest.notifications.delivery import Dispatch
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.run_history import RunRecord, record_run
from dativo_ingest.workspace import Workspace

log = get_logger(__name__)


def check_notifications(
    workspace: Workspace, job_section: dict[str, Any] | None, job_path: str | None
) -> None:
    """Raise the ConfigError of a malformed ``notifications:`` section before the run starts."""
    load_config(workspace, job_section, job_path)


def record_history(
    workspace: Workspace, asset: AssetDefinition, result: Any, *, started_at: datetime
) -> None:
    """Store the finished run (``result``: the RunResult) in the run history; failures are warnings."""
    try:
        record_run(
            MetadataStore(workspace.database_url),
            RunRecord(
                run_id=result.run_id,
                tenant_id=result.tenant_id,
                job_name=result.job_name,
                status="success" if result.status == "success" else "failed",
                started_at=started_at,
                finished_at=datetime.now(UTC),
                contract_id=result.contract.get("id"),
                source_type=asset.source_type,
                object_name=asset.object_name,
                contract_version=asset.version,
                rows_read=result.rows_read,
                rows_written=result.rows_written,
                rows_quarantined=result.rows_quarantined,
                error=result.error,
            ),
        )
    except Exception as exc:  # the run is over: a store problem is a warning
        result.warnings.append(f"run history not stored: {redact_text(str(exc))}")


def notify(
    workspace: Workspace,
    asset: AssetDefinition,
    result: Any,
    *,
    job_section: dict[str, Any] | None,
    job_path: str | None,
    finops: Any = None,
) -> list[Dispatch]:
    """Dispatch the run's events (see the module docstring); a bad configuration is a run warning."""
    try:
        return _notify(workspace, asset, result, job_section, job_path, finops)
    except Exception as exc:  # a bad configuration or store: the run's outcome stands
        result.warnings.append(f"notifications not sent: {redact_text(str(exc))}")
        return []


def _notify(
    workspace: Workspace,
    asset: AssetDefinition,
    result: Any,
    job_section: dict[str, Any] | None,
    job_path: str | None,
    finops: Any,
) -> list[Dispatch]:
    config = load_config(workspace, job_section, job_path)
    if config is None or not config.enabled:
        return []
    job = f"{result.tenant_id}/{result.job_name}"
    found: list[events.Event] = []
    if result.status == "failed":
        found.append(events.run_failed(asset, job=job, run_id=result.run_id, error=result.error or "failed"))
    route = config.route("quarantine_share")
    if route is not None and result.status == "success" and result.rows_quarantined:
        found.append(
            events.quarantine_share(
                asset,
                job=job,
                run_id=result.run_id,
                rows_read=result.rows_read,
                rows_quarantined=result.rows_quarantined,
                threshold=route.threshold or 0.0,
                rule_failures=result.rule_failures,
            )
        )
    if config.route("cost_anomaly") is not None and finops is not None and result.finops:
        try:
            anomalies = finops.detect_anomalies()
        except DativoError as exc:
            anomalies = []
            log.warning("cost anomalies not checked", extra={"fields": {"error": redact_text(str(exc))}})
        found += [events.cost_anomaly(asset, job=job, run_id=result.run_id, anomaly=a) for a in anomalies]
    return [dispatch(e, workspace=workspace, config=config) for e in found]


_NOTIFIED = "_dativo_run_notified"


def mark_notified(error: BaseException | None) -> None:
    """Note that ``error``'s run already sent its notifications (the run's own bookkeeping did)."""
    if error is not None:
        setattr(error, _NOTIFIED, True)


def failed_before_start(
    workspace: Workspace, job: Any, error: DativoError, asset_of: Callable[[], AssetDefinition]
) -> None:
    """``run_failed`` for a run that failed before its bookkeeping could (an unreadable source, a
    contract the registry refuses); configuration errors are the user's to see, not to page about."""
    if getattr(error, _NOTIFIED, False) or getattr(error.__cause__, _NOTIFIED, False):
        return
    if isinstance(error, ConfigError):
        return
    try:
        asset: AssetDefinition | None = asset_of()
    except DativoError:
        asset = None
    try:
        config = load_config(workspace, job.notifications, job.config_path)
        if config is None or config.route("run_failed") is None:
            return
        event = events.run_failed(
            asset, job=f"{job.tenant_id}/{job.name}", run_id=None, error=redact_text(str(error))
        )
        dispatch(event, workspace=workspace, config=config)
    except Exception as exc:  # never mask the run's own error
        log.warning(f"notification run_failed not sent: {redact_text(str(exc))}")
