"""One ``contract test``: the contract's checks on one server/table, masked, recorded, announced.

:func:`test_contract` picks the engine (SQL pushed down for PostgreSQL and MySQL, the streamed
validator for Iceberg and files), masks failed-row samples for the requester by policy, stores every
result in the quality history (:mod:`dativo_ingest.store.quality`) and records the run in the lineage
store, whose OpenLineage event (sent when a transport is configured) carries the results as the input
dataset's ``dataQualityAssertions`` facet. :func:`record_ingestion` stores an ingestion run's per-rule
counts under the same check ids.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dativo_ingest.attest.masking import mask_rows
from dativo_ingest.attest.results import SKIPPED, TestReport, check_ids
from dativo_ingest.attest.servers import Server, from_contract, from_job
from dativo_ingest.attest.sqlengine import run_sql
from dativo_ingest.errors import DativoError, UsageError
from dativo_ingest.logging import get_logger
from dativo_ingest.odcs.convert import default_contract_id
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.quality import contract_checks
from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.guard import requester_name
from dativo_ingest.store import quality
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.workspace import Workspace

if TYPE_CHECKING:
    from pathlib import Path

log = get_logger(__name__)
DEFAULT_SAMPLE = 5
MAX_SAMPLE = 1000


def contract_id_of(asset: AssetDefinition) -> str:
    return asset.id or default_contract_id(asset)


def resolve_server(
    asset: AssetDefinition, name: str | None, job: Path | None, base_dir: Path, warehouse: Path
) -> Server:
    """The contract's servers entry ``name``, or, with ``job``, the table that job config writes."""
    if job is None:
        return from_contract(asset, name, base_dir, warehouse)
    if name is not None:
        raise UsageError("give --server or --job, not both")
    # deferred: a job config pulls in every source (pyarrow); only --job needs it
    from dativo_ingest.ingest.jobconfig import load_job

    return from_job(load_job(job), asset, warehouse)


def test_contract(
    asset: AssetDefinition,
    server: Server,
    *,
    where: str | None = None,
    sample: int = DEFAULT_SAMPLE,
    requester: str | None = None,
    policy: PolicyConfig | None = None,
    workspace: Workspace | None = None,
    record: bool = True,
    lineage: bool = True,
) -> TestReport:
    """Test ``asset``'s checks on ``server``. Raises a DativoError (nothing recorded) when the server,
    table or filter is wrong; check failures are results, not errors."""
    ws = workspace or Workspace.current()
    policy = policy or PolicyConfig()
    who = requester_name(requester)
    sample = max(0, min(int(sample), MAX_SAMPLE))
    checklist = contract_checks(asset)
    pairs = list(zip(check_ids(checklist.checks), checklist.checks, strict=True))
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    warnings = [f"{note.path}: {note.message}" for note in checklist.unsupported]
    if server.kind in ("postgres", "mysql"):
        run: Any = run_sql(server, asset, pairs, where, sample)
        engine = f"sql ({server.kind}, {run.statements} statements)"
    else:
        # deferred: the streamed engine loads pyarrow, pyiceberg and the ingestion validator (about 100 MB
        # and seconds of imports) that a test pushed down to SQL never needs
        from dativo_ingest.attest.streamed import run_streamed

        run = run_streamed(server, asset, pairs, where, sample)
        engine = f"streamed validator ({server.kind}, {run.batches} batches)"
    for result in run.results:
        result.examples = mask_rows(result.examples, asset, policy, who)
    report = TestReport(
        contract_id=contract_id_of(asset),
        contract_version=str(asset.version),
        source_type=asset.source_type,
        object_name=asset.object_name,
        server=server.name,
        where=server.where,
        engine=engine,
        results=run.results,
        rows_checked=run.rows_checked,
        started_at=started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_seconds=time.perf_counter() - started,
        filter=where,
        warnings=warnings + run.warnings,
    )
    run_id = uuid.uuid4().hex
    if lineage:
        report.lineage_run_id = _record_lineage(ws, asset, server, report)
        run_id = report.lineage_run_id or run_id
    if record:
        try:
            quality.insert_results(
                MetadataStore(ws.database_url), _rows(report, asset, "test", run_id, started_at)
            )
        except DativoError as exc:
            report.warnings.append(f"quality history not stored: {exc}")
    return report


def _rows(
    report: TestReport, asset: AssetDefinition, origin: str, run_id: str, at: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "recorded_at": at,
            "contract_id": report.contract_id,
            "contract_version": report.contract_version,
            "source_type": asset.source_type,
            "object_name": asset.object_name,
            "check_id": r.id,
            "kind": r.kind,
            "column_name": r.column,
            "severity": r.severity,
            "status": r.status,
            "rows_checked": r.rows_checked,
            "failed": r.failed,
            "value": r.value,
            "origin": origin,
            "location": report.where[:1024],
            "run_id": run_id,
        }
        for r in report.results
    ]


def _connection(server: Server) -> dict[str, Any]:
    if server.kind in ("postgres", "mysql"):
        return {
            "host": server.host,
            "port": server.port,
            "database": server.database,
            "schema": server.schema or server.database,
            "table": server.table,
        }
    if server.kind == "iceberg":
        root = (server.catalog or {}).get("warehouse") or server.warehouse
        return {"path": f"{root}/{server.schema}/{server.table}"}
    return {"path": server.paths[0] if server.paths else server.table}


def assertions(report: TestReport) -> list[dict[str, Any]]:
    """The results as the lineage metrics' ``assertions`` (skipped checks are not assertions)."""
    return [
        {
            "assertion": r.kind,
            "column": r.column,
            "name": r.id,
            "success": r.status != "failed",
            "severity": r.severity,
            "expected": r.expected or "0",
            "actual": str(r.value if r.value is not None else (r.failed or 0)),
        }
        for r in report.results
        if r.status != SKIPPED
    ]


def _record_lineage(ws: Workspace, asset: AssetDefinition, server: Server, report: TestReport) -> str | None:
    """The test as a lineage run (tested table -> contract_test step <- contract); its COMPLETE event
    carries ``dataQualityAssertions``. A lineage failure is a warning."""
    # deferred: the lineage tracker and the OpenLineage client (~16 MB) load only when a run is recorded
    from dativo_ingest.lineage_graph.tracker import LineageTracker

    try:
        tracker = LineageTracker(MetadataStore(ws.database_url), workspace=ws)
        kind = "parquet" if server.kind == "files" else server.kind
        source = tracker.add_source_node(
            kind, server.qualified_table or asset.object_name, connection=_connection(server)
        )
        contract = tracker.add_asset_node(asset)
        step = tracker.add_transformation_node(
            "contract_test",
            scope=f"{server.name}/{server.qualified_table}",
            description=f"dativo contract test {report.contract_id} on {server.where}",
            contract=contract.id,
        )
        tracker.add_edge(source, step, "validated_by")
        tracker.add_edge(contract, step, "applies")
        metrics = {
            "records_read": report.rows_checked,
            "rule_failures": {r.id: r.failed or 0 for r in report.results if r.status not in (SKIPPED,)},
            "assertions": assertions(report),
        }
        record = tracker.record_run(
            asset.tenant or "default",
            f"contract_test.{report.contract_id}",
            "success" if report.passed else "fail",
            metrics,
        )
        return str(record["run_id"])
    except DativoError as exc:
        report.warnings.append(f"lineage not recorded: {exc}")
        return None
