"""Adapters from a run to the other components: contract registry, lineage, FinOps and dbt.

Lineage and FinOps switched off in the job are skipped with a log line and the run goes on. Failures
inside lineage and dbt are recorded as run warnings, never hidden; a contract that the registry refuses
(a breaking change without a MAJOR bump) fails the run before anything is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

from dativo_ingest.dbt.workspace import generate_workspace_project
from dativo_ingest.errors import ContractNotFoundError, ContractValidationError, DativoError
from dativo_ingest.finops.tracker import FinOpsMetrics
from dativo_ingest.ingest.sources import SourceNode
from dativo_ingest.lineage_graph.tracker import LOGGER_NAME as TRACKER_LOGGER
from dativo_ingest.lineage_graph.tracker import LineageTracker
from dativo_ingest.logging import get_logger, redact_text
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.registry import ContractRegistry
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.workspace import Workspace

log = get_logger(__name__)


# ----- contract registry --------------------------------------------------------------------------
def load_registered_contract(
    workspace: Workspace, source_type: str, object_name: str, version: str | None
) -> AssetDefinition:
    """A contract from the registry (``asset: {source_type, object, version}`` in a job)."""
    return ContractRegistry(workspace.specs).load(source_type, object_name, version)


def register_contract(
    workspace: Workspace, asset: AssetDefinition, author: str, *, dry_run: bool = False
) -> dict[str, Any] | None:
    """Register this contract version (a no-op when already registered with the same content).

    ``dry_run`` raises what registering would raise (an invalid contract, a breaking change without a
    MAJOR bump) and writes nothing."""
    if not asset.source_type:
        log.info("contract has no source_type; not registered")
        return None
    registry = ContractRegistry(workspace.specs)
    try:
        registered = registry.load(asset.source_type, asset.object_name, asset.version)
    except ContractNotFoundError:
        registered = None
    if registered is not None:
        if registered.to_dict() != asset.to_dict():
            raise ContractValidationError(
                f"contract {asset.source_type}/{asset.object_name} {asset.version} differs from the "
                f"registered {asset.version}; give the changed contract a new version",
                field="version",
            )
        return {"version": asset.version, "change_type": "none", "registered": False}
    if dry_run:
        checked = registry.check(asset)
        return {"version": checked.version, "change_type": checked.change_type, "registered": False}
    saved = registry.save(asset, author=author, force=False)
    return {"version": saved.version, "change_type": saved.change_type, "registered": True}


# ----- lineage ----------------------------------------------------------------------------------
class LineageRun:
    """Records the run's graph and emits START/COMPLETE/FAIL.

    The graph: source -> validation step <- contract, validation step -> target (and quarantine). The
    step is the job's own (``transformation://<tenant>/<job>/schema_validation``) and the contract only
    feeds it, so a target's upstream holds its own job's source, never those of other jobs sharing the
    contract. :meth:`start` is called once the source has answered; a run that fails before (a missing
    table, a refused connection) records no graph, only its FAIL event (Marquez: a run of the job, no
    datasets: what could not be read is not a dataset).
    """

    def __init__(self, workspace: Workspace, *, enabled: bool = True, openlineage: Any = None) -> None:
        self.tracker: Any = None
        self.warnings: list[str] = []
        self.run_id: str | None = None
        self.started = False
        self.events: list[dict[str, Any]] = []
        if not enabled:
            log.info("lineage switched off for this job")
            return
        self.tracker = LineageTracker(
            MetadataStore(workspace.database_url), workspace=workspace, openlineage=openlineage
        )

    def start(
        self,
        tenant_id: str,
        job_name: str,
        *,
        source: SourceNode,
        asset: AssetDefinition,
        target: Any,
        quarantine: bool,
    ) -> None:
        self.started = True
        if self.tracker is None:
            return
        try:
            t = self.tracker
            source_node = t.add_source_node(source.source_type, source.object, connection=source.connection)
            asset_node = t.add_asset_node(asset)
            check = t.add_transformation_node(
                "schema_validation",
                scope=f"{tenant_id}/{job_name}",
                description=f"contract validation (dativo run {tenant_id}/{job_name})",
                contract=asset_node.id,
            )
            dataset = target.dataset()
            namespace, table = (
                dataset.identifier.rsplit(".", 1) if "." in dataset.identifier else ("", dataset.name)
            )
            kind = getattr(target, "type_name", "iceberg")
            location = dataset.name if dataset.namespace == "file" else f"{dataset.namespace}/{dataset.name}"
            target_node = t.add_target_node(
                kind, namespace or "files", table, location=location, **_catalog_attrs(dataset.catalog)
            )
            t.add_edge(source_node, check, "validated_by")
            t.add_edge(asset_node, check, "applies")
            t.add_edge(check, target_node, "writes_to")
            if quarantine and dataset.quarantine is not None:
                q_namespace, q_name, q_identifier = dataset.quarantine
                q_table = q_identifier.rsplit(".", 1)[-1]
                q_location = q_name if q_namespace == "file" else f"{q_namespace}/{q_name}"
                q_node = t.add_target_node(
                    kind,
                    namespace or "files",
                    q_table,
                    location=q_location,
                    **_catalog_attrs(dataset.catalog),
                )
                t.add_edge(check, q_node, "quarantines")
            with self._delivery_failures():
                record = t.start_run(tenant_id, job_name)
            self.run_id = record["run_id"]
            self._keep_event()
        except DativoError as exc:
            self._warn(exc)

    def start_replay(
        self, tenant_id: str, job_name: str, *, replayed_job: str, asset: AssetDefinition, target: Any
    ) -> None:
        """START of run ``job_name``, a quarantine replay of ``replayed_job``: quarantine table ->
        ``transformation://<tenant>/<replayed_job>/quarantine_replay`` <- contract, step -> target (the
        quarantine table is the input: no run edge enters it)."""
        self.started = True
        if self.tracker is None:
            return
        try:
            t, dataset = self.tracker, target.dataset()
            namespace, table = dataset.identifier.rsplit(".", 1)
            kind, attrs = getattr(target, "type_name", "iceberg"), _catalog_attrs(dataset.catalog)
            asset_node = t.add_asset_node(asset)
            step = t.add_transformation_node(
                "quarantine_replay",
                scope=f"{tenant_id}/{replayed_job}",
                description=f"quarantine replay (dativo quarantine replay {tenant_id}/{replayed_job})",
                contract=asset_node.id,
            )
            location = dataset.name if dataset.namespace == "file" else f"{dataset.namespace}/{dataset.name}"
            target_node = t.add_target_node(kind, namespace, table, location=location, **attrs)
            t.add_edge(asset_node, step, "applies")
            t.add_edge(step, target_node, "writes_to")
            if dataset.quarantine is not None:
                q_namespace, q_name, q_identifier = dataset.quarantine
                q_location = q_name if q_namespace == "file" else f"{q_namespace}/{q_name}"
                q_node = t.add_target_node(
                    kind, namespace, q_identifier.rsplit(".", 1)[-1], location=q_location, **attrs
                )
                t.add_edge(q_node, step, "replayed_by")
            with self._delivery_failures():
                record = t.start_run(tenant_id, job_name)
            self.run_id = record["run_id"]
            self._keep_event()
        except DativoError as exc:
            self._warn(exc)

    def finish(
        self, tenant_id: str, job_name: str, status: str, metrics: dict[str, Any], error: str | None = None
    ) -> None:
        if self.tracker is None or (self.run_id is None and (self.started or status != "fail")):
            return
        try:
            with self._delivery_failures():
                self.tracker.record_run(tenant_id, job_name, status, metrics, error=error)
            self._keep_event()
        except DativoError as exc:
            self._warn(exc)

    @contextmanager
    def _delivery_failures(self) -> Iterator[None]:
        """Turn the tracker's "openlineage emit failed" log records (delivery never fails a run) into
        run warnings, so a dead OPENLINEAGE_URL shows in the run result, not only on stderr."""
        collector = _Collector()
        source = logging.getLogger(TRACKER_LOGGER)
        source.addHandler(collector)
        try:
            yield
        finally:
            source.removeHandler(collector)
            for record in collector.records:
                detail = getattr(record, "fields", {}).get("error") or record.getMessage()
                self.warnings.append(f"OpenLineage event not delivered: {redact_text(str(detail))}")

    def _keep_event(self) -> None:
        if self.tracker.last_event is not None:
            self.events.append(self.tracker.last_event)

    def _warn(self, exc: Exception) -> None:
        message = f"lineage not recorded: {exc}"
        log.warning(message)
        self.warnings.append(message)


class _Collector(logging.Handler):
    """Keeps the warning records of one lineage call."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _catalog_attrs(catalog: dict[str, Any]) -> dict[str, Any]:
    if not catalog:
        return {}
    return {
        "catalog_type": catalog.get("type"),
        "catalog_name": catalog.get("name"),
        "catalog_uri": catalog.get("metadataUri"),
        "warehouse": catalog.get("warehouseUri"),
    }


# ----- FinOps -----------------------------------------------------------------------------------
class FinOpsRun:
    """Measures the run's real CPU and memory and stores its priced record."""

    def __init__(
        self,
        workspace: Workspace,
        tenant_id: str,
        job_name: str,
        *,
        enabled: bool = True,
        cost_center: str | None = None,
        run_id: str | None = None,
    ) -> None:
        self.metrics: Any = None
        if not enabled:
            log.info("FinOps switched off for this job")
            return
        self.metrics = FinOpsMetrics(
            tenant_id,
            job_name,
            cost_center=cost_center,
            store=MetadataStore(workspace.database_url),
            run_id=run_id,
        )

    def measure(self) -> AbstractContextManager[Any]:
        return self.metrics.measure() if self.metrics is not None else nullcontext()

    def record(self, *, bytes_read: int, bytes_written: int, api_calls: int, api_type: str) -> None:
        if self.metrics is None:
            return
        self.metrics.record_data_ingested(int(bytes_read))
        self.metrics.record_data_written(int(bytes_written))
        if api_calls:
            self.metrics.record_api_calls(int(api_calls), api_type=api_type)

    def finish(self) -> dict[str, Any] | None:
        return self.metrics.finish() if self.metrics is not None else None

    def close(
        self, result: CostedResult, *, bytes_read: int, bytes_written: int, api_calls: int, api_type: str
    ) -> None:
        """Record the run's bytes and calls, store the priced record and put its cost on ``result`` (a
        store failure is one of ``result``'s warnings)."""
        self.record(
            bytes_read=bytes_read, bytes_written=bytes_written, api_calls=api_calls, api_type=api_type
        )
        try:
            summary = self.finish()
        except DativoError as exc:
            result.warnings.append(f"FinOps run not stored: {exc}")
            return
        if summary:
            result.cost_usd = summary.get("cost_breakdown_usd", {}).get("total")
            usage = summary.get("resource_usage", {})
            result.finops = {k: summary.get(k, usage.get(k)) for k in FINOPS_SUMMARY_KEYS}


#: The parts of a stored FinOps record a run's result carries.
FINOPS_SUMMARY_KEYS = ("run_id", "cost_breakdown_usd", "cpu_time_sec", "memory_peak_mb")


class CostedResult(Protocol):
    """What :meth:`FinOpsRun.close` writes on: a run's (or a replay's) result."""

    warnings: list[str]
    cost_usd: float | None
    finops: dict[str, Any] | None


# ----- dbt --------------------------------------------------------------------------------------
def refresh_dbt(workspace: Workspace) -> dict[str, Any]:
    """Regenerate the workspace's dbt project from the registry (``dbt: {refresh: true}`` in a job)."""
    return generate_workspace_project(workspace).summary()
