"""The run: job config -> contract -> source -> validation -> staged target -> one commit -> bookkeeping.

Order of a run (``run_job``):

1. load the contract and compile its rules; register the contract version in the registry;
2. compute the run key (job, target, contract version, input fingerprint, incremental window). If the
   target already holds a commit with that key, the run is a no-op that only restores the cursor;
3. emit lineage START, then stream: each source batch is validated; valid rows are staged in the
   target, rejected rows in its quarantine (``warn``), or the run aborts with nothing committed
   (``strict``); FinOps measures this part (real CPU and peak memory);
4. commit once; advance the incremental cursor; store the FinOps run; emit lineage COMPLETE (or FAIL
   on any error, after which nothing of the run is visible); optionally refresh the dbt project.

Counts reconcile: ``rows_read == rows_written + rows_quarantined``. Arrow allocates from
:func:`~dativo_ingest.ingest.memory.run_memory_pool` during the run.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from dativo_ingest.errors import ConfigError, DataValidationError, DativoError, IngestionError
from dativo_ingest.fileio import locked
from dativo_ingest.ingest import components, postrun
from dativo_ingest.ingest.boundary import Boundary, admitted
from dativo_ingest.ingest.check_results import record_ingestion
from dativo_ingest.ingest.engines import distributed, staging
from dativo_ingest.ingest.jobconfig import JobConfig
from dativo_ingest.ingest.memory import run_memory_pool
from dativo_ingest.ingest.quarantine import RunIdentity, quarantine_batch, quarantine_malformed
from dativo_ingest.ingest.rules import RuleSet, compile_rules
from dativo_ingest.ingest.sources import Incremental, Source, SourceContext, build_source
from dativo_ingest.ingest.state import CursorState
from dativo_ingest.ingest.targets import CommitInfo, Target, build_target
from dativo_ingest.ingest.targets.base import (
    CONTRACT_VERSION,
    CURSOR,
    CURSOR_FIELD,
    CURSOR_KEYS,
    CURSOR_KEYS_COUNT,
    JOB,
    ROWS_QUARANTINED,
    ROWS_READ,
    ROWS_WRITTEN,
    RUN_ID,
    RUN_KEY,
    SNAPSHOT_ID,
    TABLE_CLASSIFICATION,
    TABLE_CONTRACT_ID,
    TABLE_CONTRACT_VERSION,
    TABLE_OWNER,
)
from dativo_ingest.ingest.targets.iceberg import IcebergTarget
from dativo_ingest.ingest.validation import Validator
from dativo_ingest.logging import get_logger, redact_text
from dativo_ingest.odcs.convert import default_contract_id
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.workspace import Workspace

log = get_logger(__name__)

Progress = Callable[[int, int], None]  # (rows read so far, rows quarantined so far)
MAX_COMMITTED_KEYS = 1000  # boundary identities stored in a commit (the state file keeps up to
# boundary.MAX_BOUNDARY_KEYS); a commit with more stores none, only their count


@dataclass
class RunResult:
    """What a run did (also what ``dativo run --json`` prints)."""

    tenant_id: str
    job_name: str
    status: str  # success | skipped (already committed) | failed
    run_id: str
    run_key: str
    target: str
    quarantine_table: str | None = None
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    rule_failures: dict[str, int] = field(default_factory=dict)
    duration_seconds: float = 0.0
    snapshot_id: str | None = None
    contract: dict[str, Any] = field(default_factory=dict)
    cursor: Any = None
    cost_usd: float | None = None
    finops: dict[str, Any] | None = None
    lineage_run_id: str | None = None
    schema_changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dbt: dict[str, Any] | None = None
    engine: dict[str, Any] | None = None  # distributed runs: the engine, tasks, nodes and workers used
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_asset(job: JobConfig, workspace: Workspace) -> AssetDefinition:
    """The job's contract: a file (relative to the job file, else the workspace) or a registry entry."""
    ref = job.asset
    if ref.path is None:
        if not (ref.source_type and ref.object):  # JobConfig refuses such a job; kept for the types
            raise ConfigError("give asset as a path or as {source_type, object[, version]}", field="asset")
        return components.load_registered_contract(workspace, ref.source_type, ref.object, ref.version)
    path = job.resolve(ref.path)
    if not path.exists() and not Path(ref.path).is_absolute() and (workspace.root / ref.path).exists():
        path = workspace.root / ref.path
    if not path.exists():
        raise ConfigError("contract file not found", path=job.config_path, field="asset", contract=str(path))
    return AssetDefinition.from_yaml(path)


def run_job(
    job: JobConfig,
    *,
    workspace: Workspace | None = None,
    progress: Progress | None = None,
    run_key: str | None = None,
) -> RunResult:
    """Run one job to completion (see the module docstring); raises a DativoError when it fails."""
    ws = workspace or Workspace.current()
    try:
        return _run_job(job, ws, progress, run_key)
    except DativoError as exc:
        postrun.failed_before_start(ws, job, exc, lambda: load_asset(job, ws))
        raise


def _run_job(job: JobConfig, ws: Workspace, progress: Progress | None, run_key: str | None) -> RunResult:
    started = time.perf_counter()
    asset = load_asset(job, ws)
    asset.require_fields("ingestion")
    postrun.check_notifications(ws, job.notifications, job.config_path)
    rules = compile_rules(asset)
    target = build_target(job, ws.warehouse, job.target_table(asset))
    state = CursorState(ws.state, job.tenant_id, job.name)
    registered = components.register_contract(ws, asset, author=f"dativo run {job.tenant_id}/{job.name}")
    # The window is read (and the state recovered from the target) under the job's lock: a concurrent
    # run of the job must not see a cursor the lock holder is about to advance, nor write it back.
    with locked(ws.state / "locks" / f"{job.tenant_id}__{job.name}"):
        recovery: list[str] = []
        incremental = _incremental(job, rules, state, target, recovery)
        source = _build_source(job, ws, rules, incremental)
        key = run_key or _run_key(
            job, target.dataset().identifier, asset.version, source.fingerprint(), incremental
        )
        result = _new_result(job, asset, target, key, warnings=list(rules.warnings) + recovery)
        if registered:
            result.contract.update(registered)
        earlier = target.find_committed(key)
        if earlier is not None:
            quarantine = target.dataset().quarantine if job.validation.mode == "warn" else None
            result.quarantine_table = quarantine[2] if quarantine else None
            return _already_committed(result, earlier, state, job, started)
        run = RunContext(
            job=job,
            workspace=ws,
            asset=asset,
            rules=rules,
            state=state,
            incremental=incremental,
            source=source,
            target=target,
            result=result,
            progress=progress,
        )
        with run_memory_pool():
            _execute(run)
    result.duration_seconds = round(time.perf_counter() - started, 3)
    if job.dbt.refresh:
        try:
            result.dbt = components.refresh_dbt(ws)
        except DativoError as exc:
            result.warnings.append(f"dbt project not refreshed: {exc}")
    log.info(
        "run finished",
        extra={
            "fields": {
                k: v
                for k, v in result.to_dict().items()
                if k in ("job_name", "status", "rows_read", "rows_written", "rows_quarantined", "snapshot_id")
            }
        },
    )
    return result


def _build_source(job: JobConfig, ws: Workspace, rules: RuleSet, incremental: Incremental | None) -> Source:
    return build_source(
        job.source.type,
        job.source.options,
        SourceContext(
            job.base_dir,
            {c.name: c.type for c in rules.columns},
            job.batch_size,
            incremental,
            fingerprint_cache=ws.state / "state" / "fingerprints.json",
            required=frozenset(c.name for c in rules.columns if c.required),
        ),
    )


def _new_result(
    job: JobConfig, asset: AssetDefinition, target: Target, key: str, *, warnings: list[str]
) -> RunResult:
    return RunResult(
        tenant_id=job.tenant_id,
        job_name=job.name,
        status="running",
        run_id=uuid.uuid4().hex,
        run_key=key,
        target=target.dataset().identifier,
        contract={
            "id": asset.id or default_contract_id(asset),
            "name": asset.name,
            "version": asset.version,
            "source_type": asset.source_type,
            "object": asset.object_name,
        },
        warnings=warnings,
    )


# ----- the run's steps ----------------------------------------------------------------------------
@dataclass
class RunContext:
    """One run that was not committed before, as its steps see it: what they read, what they fill in.

    Built after the run key is known; its handles (validator, incremental boundary, lineage and FinOps
    runs) are made on construction and write nothing until a step asks them to.
    """

    job: JobConfig
    workspace: Workspace
    asset: AssetDefinition
    rules: RuleSet
    state: CursorState
    incremental: Incremental | None
    source: Source
    target: Target
    result: RunResult  # filled by the steps (counts, snapshot, cursor, status, warnings, ...)
    progress: Progress | None = None
    identity: RunIdentity = field(init=False)  # stamped on every quarantined row
    validator: Validator = field(init=False)
    boundary: Boundary | None = field(init=False)  # incremental: which rows at the cursor are new
    lineage: components.LineageRun = field(init=False)
    finops: components.FinOpsRun = field(init=False)
    commit: CommitInfo | None = None  # set by _commit
    keys: list[str] = field(default_factory=list)  # the boundary identities committed with the cursor
    error: Exception | None = None  # set by _abort
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        job, result = self.job, self.result
        self.identity = RunIdentity(
            result.run_id, result.run_key, job.tenant_id, job.name, result.contract["id"], self.asset.version
        )
        self.lineage = components.LineageRun(
            self.workspace, enabled=job.lineage.enabled, openlineage=job.lineage.openlineage
        )
        self.finops = components.FinOpsRun(
            self.workspace,
            job.tenant_id,
            job.name,
            enabled=job.finops.enabled,
            cost_center=job.finops.cost_center,
            run_id=result.run_id,
        )
        self.validator = Validator(self.rules)
        self.boundary = _boundary(self.incremental, self.rules)

    def announce_source(self) -> None:
        """Lineage START, once the source has answered (a source that fails before is never announced)."""
        self.lineage.start(
            self.job.tenant_id,
            self.job.name,
            source=self.source.lineage_node(self.asset.source_type, self.asset.object_name),
            asset=self.asset,
            target=self.target,
            quarantine=self.warn_mode,
        )
        self.result.lineage_run_id = self.lineage.run_id

    @property
    def staging_record(self) -> Path:
        """Where a distributed run notes the data files its tasks write (:mod:`.engines.staging`)."""
        return staging.record_path(self.workspace, self.job.tenant_id, self.job.name)

    @property
    def warn_mode(self) -> bool:
        """Rows that break the contract are quarantined (``warn``), not fatal (``strict``)."""
        return self.job.validation.mode == "warn"


def _open_target(run: RunContext) -> None:
    """Create or evolve the target (and its quarantine in warn mode); nothing is visible yet."""
    result, target = run.result, run.target
    result.schema_changes = target.open(
        run.rules.schema, quarantine=run.warn_mode, table_properties=_table_properties(run.asset, result)
    )
    if hasattr(target, "begin"):
        target.begin(result.run_key, result.run_id)
    if isinstance(target, IcebergTarget):  # a distributed run that died before its commit left files
        staging.clean_orphans(run.staging_record, target)
    dataset = target.dataset()
    result.quarantine_table = dataset.quarantine[2] if run.warn_mode and dataset.quarantine else None


def _prime_unique(run: RunContext) -> None:
    """``unique_against_table``: the unique columns' values already in the target count as seen (the
    Ray engine checks them against the table itself)."""
    if run.job.validation.unique_against_table and run.job.engine.type != "ray":
        for column in run.rules.unique_columns:
            for values in run.target.existing_values(column):
                run.validator.prime_unique(column, values)


def _read_and_validate(run: RunContext) -> None:
    """Stream the source through the validator: valid rows and rejected ones (with their reasons and
    places) are staged in the target; strict mode stops at the first rejected row. Lineage START goes
    out once the source has answered. ``engine: {type: ray}`` runs this step as Ray tasks instead
    (:mod:`dativo_ingest.ingest.engines.distributed`)."""
    if run.job.engine.type == "ray":
        distributed.read_and_validate(run)
        return
    result, source, target = run.result, run.source, run.target
    batches = admitted(_once_answered(source.numbered_batches(), run.announce_source), run.boundary)
    for batch, outcome in run.validator.validate_stream(batches):
        if outcome.failed_count:
            if not run.warn_mode:
                raise _strict_failure(outcome, source.locate(batch, outcome.failed_rows[:3]))
            rows, broken = outcome.failed_rows, outcome.failed_rules
            positions = source.locate(batch, rows)
            target.write_quarantine(quarantine_batch(run.identity, batch, rows, broken, positions))
        target.write_valid(outcome)
        result.rows_read += batch.num_rows
        result.rows_written += outcome.valid_count
        result.rows_quarantined += outcome.failed_count
        _drain_malformed(run)
        if run.progress is not None:
            run.progress(result.rows_read, result.rows_quarantined)
    _drain_malformed(run)


def _check_quarantine_ratio(run: RunContext) -> None:
    limit, result = run.job.validation.max_quarantine_ratio, run.result
    if limit is not None and result.rows_read and result.rows_quarantined / result.rows_read > limit:
        raise DataValidationError(
            f"{result.rows_quarantined} of {result.rows_read} rows quarantined, above max_quarantine_ratio "
            f"{limit}; nothing committed"
        )


def _commit(run: RunContext) -> None:
    """Land everything staged in one commit carrying the run's key, counts and incremental cursor."""
    result, incremental = run.result, run.incremental
    cursor, run.keys = run.boundary.result() if run.boundary else (None, [])
    result.cursor = _jsonable(cursor)
    if run.boundary is not None:
        result.warnings += run.boundary.warnings
    properties = {
        RUN_KEY: result.run_key,
        RUN_ID: result.run_id,
        JOB: f"{run.job.tenant_id}/{run.job.name}",
        CONTRACT_VERSION: run.asset.version,
        ROWS_READ: str(result.rows_read),
        ROWS_WRITTEN: str(result.rows_written),
        ROWS_QUARANTINED: str(result.rows_quarantined),
    }
    if incremental is not None:
        properties[CURSOR_FIELD] = incremental.cursor_field
        properties[CURSOR] = json.dumps(result.cursor)
        properties[CURSOR_KEYS_COUNT] = str(len(run.keys))
        if len(run.keys) <= MAX_COMMITTED_KEYS:
            properties[CURSOR_KEYS] = json.dumps(run.keys)
    run.commit = run.target.commit(properties)


def _advance_cursor(run: RunContext) -> None:
    """After the commit: the run succeeded; the state file's cursor moves to the committed one."""
    result, incremental = run.result, run.incremental
    if run.commit is None:
        raise RuntimeError("the cursor advances only after the commit")
    result.snapshot_id = run.commit.snapshot_id
    if incremental is not None and result.cursor is not None:
        run.state.advance(
            incremental.cursor_field, result.cursor, result.run_key, result.snapshot_id, run.keys
        )
    result.status = "success"
    staging.release(run.staging_record)


def _abort(run: RunContext, error: Exception) -> None:
    """Any failure: the staged data is dropped (nothing of the run is visible)."""
    run.error = error
    run.target.abort()
    run.result.status = "failed"
    run.result.error = redact_text(str(error))


def _close_source(run: RunContext) -> None:
    run.source.close()
    run.result.rule_failures = dict(sorted(run.validator.failures.items()))
    run.result.warnings += run.source.stats.warnings


def _record_finops(run: RunContext) -> None:
    """Store the run's measured and priced FinOps record (a store failure is a warning)."""
    run.finops.close(
        run.result,
        bytes_read=run.source.stats.bytes_read,
        bytes_written=run.commit.bytes_written if run.commit else 0,
        api_calls=run.source.stats.api_calls,
        api_type=run.job.source.type,
    )


def _record_lineage(run: RunContext) -> None:
    """Lineage COMPLETE (or FAIL) with the run's metrics."""
    run.lineage.finish(
        run.job.tenant_id,
        run.job.name,
        "success" if run.error is None else "fail",
        _lineage_metrics(run),
        error=run.result.error,
    )
    run.result.warnings += run.lineage.warnings


def _after_run(run: RunContext) -> None:
    """The run's history row, then its notifications (delivered in the background; never fail the run)."""
    postrun.record_history(run.workspace, run.asset, run.result, started_at=run.started_at)
    postrun.notify(
        run.workspace,
        run.asset,
        run.result,
        job_section=run.job.notifications,
        job_path=run.job.config_path,
        finops=run.finops.metrics,
    )
    postrun.mark_notified(run.error)


def _record_quality(run: RunContext) -> None:
    """The run's per-check results in the quality history (a store failure is a warning)."""
    if run.result.rows_read == 0 and run.error is not None:
        return  # failed before reading: nothing was checked
    try:
        record_ingestion(
            MetadataStore(run.workspace.database_url),
            run.asset,
            run.validator.failures,
            run.result.rows_read,
            run_id=run.result.run_id,
            where=f"job:{run.job.tenant_id}/{run.job.name}",
        )
    except DativoError as exc:
        run.result.warnings.append(f"quality history not stored: {exc}")


#: Measured by FinOps (real CPU, peak memory), in order; the first failure aborts the run.
MEASURED_STEPS: tuple[Callable[[RunContext], None], ...] = (
    _open_target,
    _prime_unique,
    _read_and_validate,
    _check_quarantine_ratio,
    _commit,
)
#: After the measured steps succeeded.
COMMITTED_STEPS: tuple[Callable[[RunContext], None], ...] = (_advance_cursor,)
#: Always, success or failure, in order.
BOOKKEEPING_STEPS: tuple[Callable[[RunContext], None], ...] = (
    _close_source,
    _record_finops,
    _record_quality,
    _record_lineage,
    _after_run,
)


def _execute(run: RunContext) -> None:
    """Run the steps; on failure abort (nothing committed), keep the books, and raise a DativoError."""
    try:
        with run.finops.measure():
            for step in MEASURED_STEPS:
                step(run)
        for step in COMMITTED_STEPS:
            step(run)
    except Exception as exc:
        _abort(run, exc)
    finally:
        for step in BOOKKEEPING_STEPS:
            step(run)
    error = run.error
    if error is not None:
        if isinstance(error, DativoError):
            raise error
        raise IngestionError(f"run failed: {redact_text(str(error))}", path=run.job.config_path) from error


def _once_answered(batches: Iterator[pa.RecordBatch], answered: Callable[[], None]) -> Iterator:
    """``batches``, calling ``answered()`` once the source has answered: before its first batch, or at its
    end when it has none (a source that fails before is never announced)."""
    announced = False
    for batch in batches:
        if not announced:
            announced = True
            answered()
        yield batch
    if not announced:
        answered()


def _incremental(
    job: JobConfig, rules: RuleSet, state: CursorState, target: Any, warnings: list[str]
) -> Incremental | None:
    """The window to read: after the committed cursor (state file, or the target's newest commit of this
    job when the state file is missing or behind it), else from ``incremental.start``. Call it holding
    the job's lock (it may write the state)."""
    if job.incremental is None:
        return None
    field_name = job.incremental.cursor_field
    column = rules.column(field_name)
    if column is None:
        raise ConfigError(
            f"cursor field {field_name!r} is not a column of the contract",
            path=job.config_path,
            field="incremental.cursor_field",
        )
    _recover_state(job, state, target, warnings)
    since = state.cursor(field_name)
    if since is None:
        return Incremental(field_name, column.type, job.incremental.start)
    return Incremental(field_name, column.type, since, state.boundary_keys(field_name))


def _boundary(incremental: Incremental | None, rules: RuleSet) -> Boundary | None:
    if incremental is None:
        return None
    key = rules.unique_columns[0] if rules.unique_columns else None
    return Boundary(incremental, key, [c.name for c in rules.columns], incremental.boundary_keys)


def _recover_state(job: JobConfig, state: CursorState, target: Any, warnings: list[str]) -> None:
    """Write the cursor of the target's newest commit of this job into the state when the state lags
    (a run that committed but died before advancing the state file). Call it holding the job's lock.

    A commit that could not carry all its boundary identities restores the cursor with the ones it has:
    the rows at the cursor value are read again (at-least-once: duplicates, never loss) and a warning
    in ``warnings`` says so."""
    last = target.last_commit(f"{job.tenant_id}/{job.name}")
    if not last or last.get(RUN_KEY) == state.load().get("run_key"):
        return
    field_name, cursor = last.get(CURSOR_FIELD), last.get(CURSOR)
    if field_name and cursor not in (None, "null"):
        keys = _keys(last)
        _warn_missing_keys(last, keys, "recovered from", warnings)
        state.advance(field_name, json.loads(cursor), last[RUN_KEY], last.get(SNAPSHOT_ID), keys)


def _warn_missing_keys(props: dict[str, str], keys: list[str], how: str, warnings: list[str]) -> None:
    """Warn when a commit's cursor comes without (all of) its boundary identities."""
    count = props.get(CURSOR_KEYS_COUNT)
    missing = int(count) > len(keys) if count is not None else CURSOR_KEYS not in props
    if missing:
        warnings.append(
            f"incremental cursor {props.get(CURSOR)} {how} commit {props.get(SNAPSHOT_ID)} "
            f"without its boundary identities ({count or 'unknown number'}; a commit stores at most "
            f"{MAX_COMMITTED_KEYS:,}): the rows at that cursor value will be read again "
            "(duplicates, never loss)"
        )


def _run_key(
    job: JobConfig, target: str, version: str, fingerprint: str | None, incremental: Incremental | None
) -> str:
    """Deterministic for the same input; unique per invocation when the input cannot be identified.

    Only a fingerprinted input (files) can be proven unchanged, so only its re-run is skipped; database
    and API sources are read every time (their incremental cursor keeps rows from being read twice).
    """
    if fingerprint is None:
        fingerprint = "once:" + uuid.uuid4().hex
    payload = {
        "tenant": job.tenant_id,
        "job": job.name,
        "target": target,
        "contract_version": version,
        "input": fingerprint,
        "since": _jsonable(incremental.since) if incremental else None,
        "cursor_field": incremental.cursor_field if incremental else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _already_committed(
    result: RunResult, props: dict[str, str], state: CursorState, job: JobConfig, started: float
) -> RunResult:
    result.status = "skipped"
    result.snapshot_id = props.get(SNAPSHOT_ID)
    result.rows_read = int(props.get(ROWS_READ, 0))
    result.rows_written = int(props.get(ROWS_WRITTEN, 0))
    result.rows_quarantined = int(props.get(ROWS_QUARANTINED, 0))
    result.warnings.append(f"run {result.run_key[:12]} was already committed; nothing written")
    if job.incremental is not None and props.get(CURSOR) not in (None, "null"):
        result.cursor = json.loads(props[CURSOR])
        field_name = job.incremental.cursor_field
        if state.load().get("run_key") == result.run_key:  # the state already has all the keys kept
            keys = state.boundary_keys(field_name)
        else:
            keys = _keys(props)
            _warn_missing_keys(props, keys, "restored from", result.warnings)
        state.advance(field_name, result.cursor, result.run_key, result.snapshot_id, keys)
    result.duration_seconds = round(time.perf_counter() - started, 3)
    return result


def _drain_malformed(run: RunContext) -> None:
    """Quarantine the rows the source could not parse (strict mode: fail, naming the first's file:line)."""
    rows = []
    while run.source.malformed:
        rows.append(run.source.malformed.popleft())
    if not rows:
        return
    if not run.warn_mode:
        first = rows[0]
        raise DataValidationError(
            f"malformed row ({first.reason}) in strict mode; nothing committed",
            path=first.path,
            line=first.line,
        )
    run.target.write_quarantine(quarantine_malformed(run.identity, rows))
    run.validator.failures["malformed_row"] += len(rows)
    run.result.rows_read += len(rows)
    run.result.rows_quarantined += len(rows)


def _keys(props: dict[str, str]) -> list[str]:
    """The boundary identities a commit carries (none when there were too many to store)."""
    return json.loads(props.get(CURSOR_KEYS) or "[]")


def _strict_failure(outcome, positions: list) -> DataValidationError:
    """The first rows that break the contract, by place: ``c.csv:12: ... (line 12: required:email; ...)``
    (a batch holds one file at most, so the error names that file and the first row's line)."""
    shown = "; ".join(
        f"{position.short}: {', '.join(rules)}"
        for position, rules in zip(positions, outcome.failed_rules, strict=False)
    )
    first = positions[0]
    return DataValidationError(
        f"{outcome.failed_count} row(s) break the contract in strict mode; nothing committed ({shown})",
        path=first.file,
        line=first.number if first.unit == "line" else None,
        failed_rules=dict(outcome.rule_failures),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _table_properties(asset: AssetDefinition, result: RunResult) -> dict[str, str]:
    props = {TABLE_CONTRACT_VERSION: str(asset.version)}
    if result.contract.get("id"):
        props[TABLE_CONTRACT_ID] = str(result.contract["id"])
    if asset.owner:
        props[TABLE_OWNER] = str(asset.owner)
    if asset.classifications:
        props[TABLE_CLASSIFICATION] = ",".join(asset.classifications)
    return props


def _lineage_metrics(run: RunContext) -> dict[str, Any]:
    result, validator, commit = run.result, run.validator, run.commit
    return {
        "records_read": result.rows_read,
        "records_written": result.rows_written,
        "records_quarantined": result.rows_quarantined,
        "bytes_written": commit.bytes_written if commit else 0,
        "snapshot_id": result.snapshot_id,
        "rule_failures": dict(sorted(validator.failures.items())),
        "null_counts": dict(validator.null_counts),
        "assertions": [
            {
                "assertion": name.split(":", 1)[0],
                "column": name.split(":", 1)[1],
                "success": validator.failures.get(name, 0) == 0,
            }
            for name in run.rules.rule_names()
        ],
    }
