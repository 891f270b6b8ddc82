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
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from dativo_ingest.errors import ConfigError, DataValidationError, DativoError, IngestionError
from dativo_ingest.fileio import locked
from dativo_ingest.ingest import components
from dativo_ingest.ingest.boundary import Boundary
from dativo_ingest.ingest.jobconfig import JobConfig
from dativo_ingest.ingest.memory import run_memory_pool
from dativo_ingest.ingest.quarantine import RunIdentity, quarantine_batch, quarantine_malformed
from dativo_ingest.ingest.rules import RuleSet, compile_rules
from dativo_ingest.ingest.sources import Incremental, SourceContext, build_source
from dativo_ingest.ingest.state import CursorState
from dativo_ingest.ingest.targets import RUN_KEY, build_target
from dativo_ingest.ingest.validation import Validator
from dativo_ingest.logging import get_logger, redact_text
from dativo_ingest.workspace import Workspace

log = get_logger(__name__)

KEYS_COUNT = "dativo.cursor-keys-count"
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
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_asset(job: JobConfig, workspace: Workspace) -> Any:
    """The job's contract: a file (relative to the job file, else the workspace) or a registry entry."""
    from dativo_ingest.config import AssetDefinition

    ref = job.asset
    if ref.path is None:
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
    started = time.perf_counter()
    asset = load_asset(job, ws)
    rules = compile_rules(asset)
    table = job.target_table(asset)
    target = build_target(job, ws.warehouse, table)
    state = CursorState(ws.state, job.tenant_id, job.name)
    contract_id = asset.id or _default_contract_id(asset)
    registered = components.register_contract(ws, asset, author=f"dativo run {job.tenant_id}/{job.name}")
    # The window is read (and the state recovered from the target) under the job's lock: a concurrent
    # run of the job must not see a cursor the lock holder is about to advance, nor write it back.
    with locked(ws.state / "locks" / f"{job.tenant_id}__{job.name}"):
        recovery: list[str] = []
        incremental = _incremental(job, rules, state, target, recovery)
        source = build_source(
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
        key = run_key or _run_key(
            job, target.dataset().identifier, asset.version, source.fingerprint(), incremental
        )
        result = RunResult(
            tenant_id=job.tenant_id,
            job_name=job.name,
            status="running",
            run_id=uuid.uuid4().hex,
            run_key=key,
            target=target.dataset().identifier,
            contract={
                "id": contract_id,
                "name": asset.name,
                "version": asset.version,
                "source_type": asset.source_type,
                "object": asset.object_name,
            },
            warnings=list(rules.warnings) + recovery,
        )
        if registered:
            result.contract.update(registered)
        earlier = target.find_committed(key)
        if earlier is not None:
            quarantine = target.dataset().quarantine if job.validation.mode == "warn" else None
            result.quarantine_table = quarantine[2] if quarantine else None
            return _already_committed(result, earlier, state, job, started)
        with run_memory_pool():
            _execute(job, ws, asset, rules, source, target, state, incremental, result, progress)
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


def _execute(job, ws, asset, rules, source, target, state, incremental, result, progress) -> None:
    warn_mode = job.validation.mode == "warn"
    identity = RunIdentity(
        result.run_id, result.run_key, job.tenant_id, job.name, result.contract["id"], asset.version
    )
    lineage = components.LineageRun(ws, enabled=job.lineage.enabled, openlineage=job.lineage.openlineage)
    finops = components.FinOpsRun(
        ws,
        job.tenant_id,
        job.name,
        enabled=job.finops.enabled,
        cost_center=job.finops.cost_center,
        run_id=result.run_id,
    )
    validator = Validator(rules)
    boundary = _boundary(incremental, rules)
    commit = None
    error: Exception | None = None
    try:
        with finops.measure():
            result.schema_changes = target.open(
                rules.schema, quarantine=warn_mode, table_properties=_table_properties(asset, result)
            )
            if hasattr(target, "begin"):
                target.begin(result.run_key, result.run_id)
            dataset = target.dataset()
            result.quarantine_table = dataset.quarantine[2] if warn_mode and dataset.quarantine else None

            def source_answered() -> None:
                lineage.start(
                    job.tenant_id,
                    job.name,
                    source=_source_node(asset, source),
                    asset=asset,
                    target=target,
                    quarantine=warn_mode,
                )
                result.lineage_run_id = lineage.run_id

            if job.validation.unique_against_table:
                for column in rules.unique_columns:
                    for values in target.existing_values(column):
                        validator.prime_unique(column, values)
            batches = _window(_once_answered(source.numbered_batches(), source_answered), boundary)
            for batch, outcome in validator.validate_stream(batches):
                if outcome.failed_count:
                    if not warn_mode:
                        raise _strict_failure(outcome, source.locate(batch, outcome.failed_rows[:3]))
                    rows, broken = outcome.failed_rows, outcome.failed_rules
                    positions = source.locate(batch, rows)
                    target.write_quarantine(quarantine_batch(identity, batch, rows, broken, positions))
                for part in outcome.valid_parts():
                    target.write(part)
                result.rows_read += batch.num_rows
                result.rows_written += outcome.valid_count
                result.rows_quarantined += outcome.failed_count
                _drain_malformed(source, target, identity, validator, result, warn_mode)
                if progress is not None:
                    progress(result.rows_read, result.rows_quarantined)
            _drain_malformed(source, target, identity, validator, result, warn_mode)
            _check_ratio(job, result)
            cursor, keys = boundary.result() if boundary else (None, [])
            result.cursor = _jsonable(cursor)
            if boundary is not None:
                result.warnings += boundary.warnings
            properties = {
                RUN_KEY: result.run_key,
                "dativo.run-id": result.run_id,
                "dativo.job": f"{job.tenant_id}/{job.name}",
                "dativo.contract-version": asset.version,
                "dativo.rows-read": str(result.rows_read),
                "dativo.rows-written": str(result.rows_written),
                "dativo.rows-quarantined": str(result.rows_quarantined),
            }
            if incremental is not None:
                properties["dativo.cursor-field"] = incremental.cursor_field
                properties["dativo.cursor"] = json.dumps(result.cursor)
                properties[KEYS_COUNT] = str(len(keys))
                if len(keys) <= MAX_COMMITTED_KEYS:
                    properties["dativo.cursor-keys"] = json.dumps(keys)
            commit = target.commit(properties)
        result.snapshot_id = commit.snapshot_id
        if incremental is not None and result.cursor is not None:
            state.advance(incremental.cursor_field, result.cursor, result.run_key, commit.snapshot_id, keys)
        result.status = "success"
    except Exception as exc:
        error = exc
        target.abort()
        result.status = "failed"
        result.error = redact_text(str(exc))
    finally:
        source.close()
        result.rule_failures = dict(sorted(validator.failures.items()))
        result.warnings += source.stats.warnings
        finops.record(
            bytes_read=source.stats.bytes_read,
            bytes_written=commit.bytes_written if commit else 0,
            api_calls=source.stats.api_calls,
            api_type=job.source.type,
        )
        try:
            summary = finops.finish()
        except DativoError as exc:
            summary = None
            result.warnings.append(f"FinOps run not stored: {exc}")
        if summary:
            result.cost_usd = summary.get("cost_breakdown_usd", {}).get("total")
            result.finops = {
                k: summary.get(k)
                for k in ("run_id", "cost_breakdown_usd", "cpu_time_sec", "memory_peak_mb")
                if k in summary
            }
        lineage.finish(
            job.tenant_id,
            job.name,
            "success" if error is None else "fail",
            _lineage_metrics(result, validator, rules, commit),
            error=result.error,
        )
        result.warnings += lineage.warnings
    if error is not None:
        if isinstance(error, DativoError):
            raise error
        raise IngestionError(f"run failed: {redact_text(str(error))}", path=job.config_path) from error


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


def _window(batches: Iterator[pa.RecordBatch], boundary: Boundary | None) -> Iterator[pa.RecordBatch]:
    """The rows not read by an earlier run (all of them without ``incremental``)."""
    if boundary is None:
        yield from batches
        return
    for batch in batches:
        batch = boundary.admit(batch)
        boundary.observe(batch)
        yield batch


def _recover_state(job: JobConfig, state: CursorState, target: Any, warnings: list[str]) -> None:
    """Write the cursor of the target's newest commit of this job into the state when the state lags
    (a run that committed but died before advancing the state file). Call it holding the job's lock.

    A commit that could not carry all its boundary identities restores the cursor with the ones it has:
    the rows at the cursor value are read again (at-least-once: duplicates, never loss) and a warning
    in ``warnings`` says so."""
    last = target.last_commit(f"{job.tenant_id}/{job.name}")
    if not last or last.get(RUN_KEY) == state.load().get("run_key"):
        return
    field_name, cursor = last.get("dativo.cursor-field"), last.get("dativo.cursor")
    if field_name and cursor not in (None, "null"):
        keys = _keys(last)
        _warn_missing_keys(last, keys, "recovered from", warnings)
        state.advance(field_name, json.loads(cursor), last[RUN_KEY], last.get("snapshot-id"), keys)


def _warn_missing_keys(props: dict[str, str], keys: list[str], how: str, warnings: list[str]) -> None:
    """Warn when a commit's cursor comes without (all of) its boundary identities."""
    count = props.get(KEYS_COUNT)
    missing = int(count) > len(keys) if count is not None else "dativo.cursor-keys" not in props
    if missing:
        warnings.append(
            f"incremental cursor {props.get('dativo.cursor')} {how} commit {props.get('snapshot-id')} "
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
    result.snapshot_id = props.get("snapshot-id")
    result.rows_read = int(props.get("dativo.rows-read", 0))
    result.rows_written = int(props.get("dativo.rows-written", 0))
    result.rows_quarantined = int(props.get("dativo.rows-quarantined", 0))
    result.warnings.append(f"run {result.run_key[:12]} was already committed; nothing written")
    if job.incremental is not None and props.get("dativo.cursor") not in (None, "null"):
        result.cursor = json.loads(props["dativo.cursor"])
        field_name = job.incremental.cursor_field
        if state.load().get("run_key") == result.run_key:  # the state already has all the keys kept
            keys = state.boundary_keys(field_name)
        else:
            keys = _keys(props)
            _warn_missing_keys(props, keys, "restored from", result.warnings)
        state.advance(field_name, result.cursor, result.run_key, result.snapshot_id, keys)
    result.duration_seconds = round(time.perf_counter() - started, 3)
    return result


def _drain_malformed(source, target, identity, validator, result, warn_mode: bool) -> None:
    """Quarantine the rows the source could not parse (strict mode: fail, naming the first's file:line)."""
    rows = []
    while source.malformed:
        rows.append(source.malformed.popleft())
    if not rows:
        return
    if not warn_mode:
        first = rows[0]
        raise DataValidationError(
            f"malformed row ({first.reason}) in strict mode; nothing committed",
            path=first.path,
            line=first.line,
        )
    target.write_quarantine(quarantine_malformed(identity, rows))
    validator.failures["malformed_row"] += len(rows)
    result.rows_read += len(rows)
    result.rows_quarantined += len(rows)


def _keys(props: dict[str, str]) -> list[str]:
    """The boundary identities a commit carries (none when there were too many to store)."""
    return json.loads(props.get("dativo.cursor-keys") or "[]")


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


def _check_ratio(job: JobConfig, result: RunResult) -> None:
    limit = job.validation.max_quarantine_ratio
    if limit is not None and result.rows_read and result.rows_quarantined / result.rows_read > limit:
        raise DataValidationError(
            f"{result.rows_quarantined} of {result.rows_read} rows quarantined, above max_quarantine_ratio "
            f"{limit}; nothing committed"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _default_contract_id(asset: Any) -> str | None:
    try:
        from dativo_ingest.odcs.convert import default_contract_id

        return default_contract_id(asset)
    except ImportError:
        return None


def _table_properties(asset: Any, result: RunResult) -> dict[str, str]:
    props = {"dativo.contract-version": str(asset.version)}
    if result.contract.get("id"):
        props["dativo.contract-id"] = str(result.contract["id"])
    if asset.owner:
        props["dativo.owner"] = str(asset.owner)
    if asset.classifications:
        props["dativo.classification"] = ",".join(asset.classifications)
    return props


def _source_node(asset: Any, source: Any) -> dict[str, Any]:
    """How lineage names the source: database sources by their table, files and APIs by location."""
    namespace, name = source.dataset()
    if source.type_name in ("postgres", "mysql"):
        url = source._url()
        parts = name.split(".")
        connection = {
            "host": url.host or "localhost",
            "port": url.port or source.default_port,
            "database": url.database,
            "table": parts[-1],
        }
        if source.type_name == "postgres" and len(parts) == 3:
            connection["schema"] = parts[1]
        return {"source_type": source.type_name, "object": parts[-1], "connection": connection}
    connection = {"path": name} if namespace == "file" else {"url": f"{namespace}{name}"}
    return {
        "source_type": asset.source_type or source.type_name,
        "object": asset.object_name,
        "connection": connection,
    }


def _lineage_metrics(result: RunResult, validator: Validator, rules: RuleSet, commit: Any) -> dict[str, Any]:
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
            for name in rules.rule_names()
        ],
    }
