"""Quarantine replay: re-validate a job's quarantined rows against the contract now in force and land
the rows that pass in one commit, exactly once.

Order of a replay (``replay_quarantine``), under the job's lock (no run or replay of the job meanwhile):

1. load the job's contract (the version in force now) and compile its rules as a run does;
2. read the job's quarantine and replay ledger (:mod:`.quarantine_state`); the candidates are the rows
   still quarantined, minus malformed lines (nothing to re-check). No quarantined row at all is a
   :class:`~dativo_ingest.errors.QuarantineEmptyError`;
3. validate the candidates' source values (``record``) with the run's :class:`.Validator`; unique
   columns and keys also count the values the target already holds, always (a replayed row must not
   repeat a landed one);
4. commit the decisions to the replay ledger (``replayed``; or ``quarantined`` with the new reasons,
   when they changed), then the passing rows to the target in one snapshot carrying the replay's run
   key. A ``replayed`` decision counts only once that snapshot exists, so a replay killed anywhere
   lands nothing and leaves its rows quarantined; the next replay lands them once;
5. record the replay as a run: lineage (quarantine table -> ``quarantine_replay`` -> target) and FinOps,
   under the job name ``<job>.replay``.

``dry_run=True`` stops after step 3: nothing is written (no ledger, target, lineage or FinOps record).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from pyiceberg.exceptions import NoSuchTableError

from dativo_ingest.errors import DativoError, IngestionError, QuarantineEmptyError, UsageError
from dativo_ingest.fileio import locked
from dativo_ingest.ingest import components
from dativo_ingest.ingest.jobconfig import JobConfig
from dativo_ingest.ingest.quarantine_state import (
    QUARANTINED,
    REPLAY_LEDGER_SCHEMA,
    REPLAYED,
    QuarantinedRow,
    QuarantineView,
    ledger_identifier,
    quarantined_runs,
    read_quarantine,
)
from dativo_ingest.ingest.rules import ADVISORY, RuleSet, compile_rules
from dativo_ingest.ingest.runner import load_asset
from dativo_ingest.ingest.targets import build_target
from dativo_ingest.ingest.targets.base import (
    CONTRACT_VERSION,
    REPLAY_OF,
    REPLAY_QUARANTINE_SNAPSHOT,
    ROWS_QUARANTINED,
    ROWS_READ,
    ROWS_WRITTEN,
    RUN_ID,
    RUN_KEY,
    TABLE_CONTRACT_ID,
    TABLE_CONTRACT_VERSION,
    TABLE_OWNER,
    TABLE_REPLAYS_OF,
    CommitInfo,
)
from dativo_ingest.ingest.targets.iceberg import IcebergTarget
from dativo_ingest.ingest.validation import Validator
from dativo_ingest.logging import get_logger, redact_text
from dativo_ingest.odcs.convert import default_contract_id
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.workspace import Workspace

log = get_logger(__name__)

REPLAY_SUFFIX = ".replay"  #: a replay's lineage and FinOps job name is ``<job>.replay``
SHOWN_FAILURES = 20  #: rows still failing listed in the result (with their places and reasons)


@dataclass
class ReplayResult:
    """What a replay did (also what ``dativo quarantine replay --json`` prints)."""

    tenant_id: str
    job_name: str
    status: str  # success | dry_run | nothing_to_replay | failed
    run_id: str
    target: str
    quarantine_table: str
    ledger_table: str
    contract: dict[str, Any] = field(default_factory=dict)
    run_key: str | None = None
    runs: list[str] = field(default_factory=list)  # the runs whose rows were re-checked
    rows_checked: int = 0
    rows_landed: int = 0
    rows_still_quarantined: int = 0
    reasons_changed: int = 0  # still quarantined, with reasons other than before
    rows_already_replayed: int = 0
    rows_not_replayable: int = 0  # malformed lines: no values to re-check
    rule_failures: dict[str, int] = field(default_factory=dict)
    snapshot_id: str | None = None
    ledger_snapshot_id: str | None = None
    duration_seconds: float = 0.0
    cost_usd: float | None = None
    finops: dict[str, Any] | None = None
    lineage_run_id: str | None = None
    still_quarantined: list[dict[str, Any]] = field(default_factory=list)  # first rows, new reasons
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def quarantine_target(job: JobConfig, workspace: Workspace, asset: AssetDefinition) -> IcebergTarget:
    """The job's Iceberg target (whose quarantine a replay reads); other targets are refused."""
    target = build_target(job, workspace.warehouse, job.target_table(asset))
    if not isinstance(target, IcebergTarget):
        raise UsageError(
            f"quarantine replay needs an Iceberg target; job {job.tenant_id}/{job.name} writes "
            f"{target.type_name}",
            path=job.config_path,
            field="target.type",
        )
    return target


def job_quarantine(
    job: JobConfig, *, workspace: Workspace | None = None, run: str | None = None
) -> tuple[IcebergTarget, QuarantineView]:
    """The job's target and its quarantine (of run ``run``, a run id or a unique prefix of one)."""
    ws = workspace or Workspace.current()
    target = quarantine_target(job, ws, load_asset(job, ws))
    return target, _view(target, job, run)


def _view(target: IcebergTarget, job: JobConfig, run: str | None) -> QuarantineView:
    run_id = resolve_run(target, job, run) if run is not None else None
    return read_quarantine(target, job.tenant_id, job.name, run_id)


def resolve_run(target: IcebergTarget, job: JobConfig, run: str) -> str:
    """The run id ``run`` names (in full or by a unique prefix) among the job's quarantined runs."""
    ids = quarantined_runs(target, job.tenant_id, job.name)
    matches = ([i for i in ids if i == run] or [i for i in ids if i.startswith(run)]) if run else []
    if len(matches) == 1:
        return matches[0]
    what = "matches several runs" if matches else "is not a run with quarantined rows"
    raise QuarantineEmptyError(
        f"{run!r} {what} of job {job.tenant_id}/{job.name} (see dativo quarantine list)",
        path=job.config_path,
        field="--run",
    )


def replay_quarantine(
    job: JobConfig,
    *,
    workspace: Workspace | None = None,
    run: str | None = None,
    dry_run: bool = False,
) -> ReplayResult:
    """Replay the job's quarantine (see the module docstring); raises a DativoError when it fails."""
    ws = workspace or Workspace.current()
    started = time.perf_counter()
    asset = load_asset(job, ws)
    asset.require_fields("ingestion")
    rules = compile_rules(asset)
    target = quarantine_target(job, ws, asset)
    with locked(ws.state / "locks" / f"{job.tenant_id}__{job.name}"):
        view = _view(target, job, run)
        result = _new_result(job, asset, target, view, dry_run)
        result.warnings += rules.warnings
        if not view.rows:
            raise QuarantineEmptyError(
                f"job {job.tenant_id}/{job.name} has no quarantined rows in {view.quarantine_table}; "
                "nothing to replay",
                path=job.config_path,
            )
        candidates = [r for r in view.rows if r.replayable]
        result.rows_already_replayed = sum(r.status == REPLAYED for r in view.rows)
        result.rows_not_replayable = sum(r.status == QUARANTINED and not r.replayable for r in view.rows)
        result.runs = sorted({r.run_id for r in candidates})
        if not candidates:
            result.status = "nothing_to_replay"
        else:
            # a dry run checks the contract as the replay registers it (refused alike), writing nothing
            if registered := components.register_contract(
                ws, asset, author=f"dativo quarantine replay {job.tenant_id}/{job.name}", dry_run=dry_run
            ):
                result.contract.update(registered)
            replay = _Replay(job, ws, asset, rules, target, view, candidates, result)
            if dry_run:
                _decide(replay)
            else:
                result.run_key = _replay_key(job, target, asset, view, run)
                _execute(replay)
    result.duration_seconds = round(time.perf_counter() - started, 3)
    log.info(
        "replay finished",
        extra={
            "fields": {
                k: v
                for k, v in result.to_dict().items()
                if k in ("job_name", "status", "rows_checked", "rows_landed", "rows_still_quarantined")
            }
        },
    )
    return result


def _new_result(
    job: JobConfig, asset: AssetDefinition, target: IcebergTarget, view: QuarantineView, dry_run: bool
) -> ReplayResult:
    return ReplayResult(
        tenant_id=job.tenant_id,
        job_name=job.name,
        status="dry_run" if dry_run else "running",
        run_id=uuid.uuid4().hex,
        target=target.identifier,
        quarantine_table=view.quarantine_table,
        ledger_table=view.ledger_table,
        contract={
            "id": asset.id or default_contract_id(asset),
            "name": asset.name,
            "version": asset.version,
            "source_type": asset.source_type,
            "object": asset.object_name,
        },
    )


def _replay_key(
    job: JobConfig, target: IcebergTarget, asset: AssetDefinition, view: QuarantineView, run: str | None
) -> str:
    """The replay's idempotency key (carried by its ledger and target commits): derived from what it
    reads, so a replay killed before any commit is re-run under the same key, and any replay after a
    commit reads a newer ledger snapshot, hence gets a new key."""
    payload = {
        "replay": f"{job.tenant_id}/{job.name}",
        "target": target.identifier,
        "contract_version": asset.version,
        "quarantine_snapshot": view.quarantine_snapshot,
        "ledger_snapshot": view.ledger_snapshot,
        "run": run,
    }
    return "replay:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class _Replay:
    """One replay as its steps see it."""

    job: JobConfig
    workspace: Workspace
    asset: AssetDefinition
    rules: RuleSet
    target: IcebergTarget
    view: QuarantineView
    candidates: list[QuarantinedRow]
    result: ReplayResult
    validator: Validator = field(init=False)
    landed: list[pa.RecordBatch] = field(default_factory=list)
    decisions: list[tuple[QuarantinedRow, str, list[str]]] = field(default_factory=list)
    bytes_read: int = 0
    commit: CommitInfo | None = None
    error: Exception | None = None

    def __post_init__(self) -> None:
        self.validator = Validator(self.rules)

    @property
    def job_name(self) -> str:
        return self.job.name + REPLAY_SUFFIX


def _decide(replay: _Replay) -> None:
    """Validate the candidates (uniqueness also against the target's rows) and decide each one."""
    result, rules, validator = replay.result, replay.rules, replay.validator
    _prime_from_table(replay)
    size = max(1, replay.job.batch_size)
    shown = 0
    for start in range(0, len(replay.candidates), size):
        rows = replay.candidates[start : start + size]
        replay.bytes_read += sum(len(r.record) for r in rows)
        outcome = validator.validate(records_batch([r.record for r in rows], rules))
        failed = {
            int(i): reasons for i, reasons in zip(outcome.failed_rows, outcome.failed_rules, strict=True)
        }
        for i, row in enumerate(rows):
            reasons = failed.get(i)
            if reasons is None:
                replay.decisions.append((row, REPLAYED, []))
                continue
            result.rows_still_quarantined += 1
            if reasons != row.reasons or str(replay.asset.version) != row.checked_version:
                result.reasons_changed += reasons != row.reasons
                replay.decisions.append((row, QUARANTINED, reasons))
            if shown < SHOWN_FAILURES:
                shown += 1
                result.still_quarantined.append(
                    {"run_id": row.run_id, "source_location": row.source_location, "reasons": reasons}
                )
        replay.landed += outcome.valid_parts()
        result.rows_checked += len(rows)
        result.rows_landed += outcome.valid_count
    result.rule_failures = dict(
        sorted((k, v) for k, v in validator.failures.items() if not k.startswith(ADVISORY))
    )


def _prime_from_table(replay: _Replay) -> None:
    """Unique columns and keys: the values the target already holds count as seen."""
    rules, table = replay.rules, _existing_table(replay.target)
    if table is None or table.current_snapshot() is None:
        return
    names = set(table.schema().column_names)
    for column in rules.unique_columns:
        if column in names:
            for batch in table.scan(selected_fields=(column,)).to_arrow_batch_reader():
                replay.validator.prime_unique(column, batch.column(0))
    for key in rules.unique_keys:
        if set(key) <= names:
            for batch in table.scan(selected_fields=tuple(key)).to_arrow_batch_reader():
                replay.validator.prime_unique_key(key, {name: batch.column(name) for name in key})


def _existing_table(target: IcebergTarget) -> Any:
    try:
        return target.catalog.load_table(target.identifier)
    except NoSuchTableError:  # no table yet: nothing to be unique against
        return None


def records_batch(records: list[str], rules: RuleSet) -> pa.RecordBatch:
    """The contract's columns of quarantine ``record`` texts, as the source gave them (validation casts)."""
    parsed = [json.loads(text) for text in records]
    return pa.RecordBatch.from_pydict(
        {c.name: _array([row.get(c.name) for row in parsed]) for c in rules.columns}
    )


def _array(values: list[Any]) -> pa.Array:
    """``values`` as one Arrow array; mixed kinds become text (the cast to the contract type decides)."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        texts = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        return pa.array(texts, pa.string())


def _execute(replay: _Replay) -> None:
    """Decide, commit the ledger then the target, keep the books; on failure nothing lands."""
    result = replay.result
    lineage = components.LineageRun(
        replay.workspace, enabled=replay.job.lineage.enabled, openlineage=replay.job.lineage.openlineage
    )
    finops = components.FinOpsRun(
        replay.workspace,
        replay.job.tenant_id,
        replay.job_name,
        enabled=replay.job.finops.enabled,
        cost_center=replay.job.finops.cost_center,
        run_id=result.run_id,
    )
    try:
        with finops.measure():
            _decide(replay)
            lineage.start_replay(
                replay.job.tenant_id,
                replay.job_name,
                replayed_job=replay.job.name,
                asset=replay.asset,
                target=replay.target,
            )
            result.lineage_run_id = lineage.run_id
            _commit(replay)
        result.status = "success"
    except Exception as exc:
        replay.error = exc
        result.status, result.error = "failed", redact_text(str(exc))
        replay.target.abort()
    finally:
        _record_finops(replay, finops)
        lineage.finish(
            replay.job.tenant_id,
            replay.job_name,
            "success" if replay.error is None else "fail",
            _metrics(replay),
            error=result.error,
        )
        result.warnings += lineage.warnings
    if replay.error is not None:
        if isinstance(replay.error, DativoError):
            raise replay.error
        raise IngestionError(
            f"replay failed: {redact_text(str(replay.error))}", path=replay.job.config_path
        ) from replay.error


def _commit(replay: _Replay) -> None:
    """The ledger's decisions first, then the passing rows in one target snapshot (same run key)."""
    result = replay.result
    if not replay.decisions:
        return  # every row fails as before: nothing to write
    properties = {
        RUN_KEY: str(result.run_key),
        RUN_ID: result.run_id,
        REPLAY_OF: f"{replay.job.tenant_id}/{replay.job.name}",
        REPLAY_QUARANTINE_SNAPSHOT: str(replay.view.quarantine_snapshot),
        CONTRACT_VERSION: str(replay.asset.version),
        ROWS_READ: str(result.rows_checked),
        ROWS_WRITTEN: str(result.rows_landed),
        ROWS_QUARANTINED: str(result.rows_still_quarantined),
    }
    if result.rows_landed:  # a contract the table cannot evolve to fails here, before anything is written
        target_properties = _table_properties(replay)
        replay.target.open(replay.rules.schema, quarantine=False, table_properties=target_properties)
    namespace, table = ledger_identifier(replay.target).rsplit(".", 1)
    config = replay.job.target
    ledger = IcebergTarget(
        config.catalog, replay.workspace.warehouse, namespace, table, file_size_mb=config.file_size_mb
    )
    ledger.open(
        REPLAY_LEDGER_SCHEMA,
        quarantine=False,
        table_properties={TABLE_REPLAYS_OF: replay.target.quarantine_identifier},
    )
    ledger.write(_ledger_batch(replay))
    result.ledger_snapshot_id = ledger.commit(properties).snapshot_id
    if not result.rows_landed:
        return
    for part in replay.landed:
        replay.target.write(part)
    replay.commit = replay.target.commit(properties)
    result.snapshot_id = replay.commit.snapshot_id


def _ledger_batch(replay: _Replay) -> pa.RecordBatch:
    result, at = replay.result, datetime.now(UTC)
    rows = replay.decisions
    return pa.RecordBatch.from_pydict(
        {
            "replay_run_id": [result.run_id] * len(rows),
            "replay_run_key": [result.run_key] * len(rows),
            "tenant_id": [replay.job.tenant_id] * len(rows),
            "job_name": [replay.job.name] * len(rows),
            "run_id": [row.run_id for row, _, _ in rows],
            "source_row": [row.source_row for row, _, _ in rows],
            "source_location": [row.source_location for row, _, _ in rows],
            "outcome": [outcome for _, outcome, _ in rows],
            "failed_rules": [reasons for _, _, reasons in rows],
            "contract_version": [str(replay.asset.version)] * len(rows),
            "decided_at": [at] * len(rows),
        },
        schema=REPLAY_LEDGER_SCHEMA,
    )


def _table_properties(replay: _Replay) -> dict[str, str]:
    props = {TABLE_CONTRACT_VERSION: str(replay.asset.version)}
    if replay.result.contract.get("id"):
        props[TABLE_CONTRACT_ID] = str(replay.result.contract["id"])
    if replay.asset.owner:
        props[TABLE_OWNER] = str(replay.asset.owner)
    return props


def _record_finops(replay: _Replay, finops: components.FinOpsRun) -> None:
    finops.close(
        replay.result,
        bytes_read=replay.bytes_read,
        bytes_written=replay.commit.bytes_written if replay.commit else 0,
        api_calls=0,
        api_type="quarantine",
    )


def _metrics(replay: _Replay) -> dict[str, Any]:
    result = replay.result
    return {
        "records_read": result.rows_checked,
        "records_written": result.rows_landed,
        "records_quarantined": result.rows_still_quarantined,
        "bytes_written": replay.commit.bytes_written if replay.commit else 0,
        "snapshot_id": result.snapshot_id,
        "rule_failures": dict(result.rule_failures),
        "null_counts": dict(replay.validator.null_counts),
        "assertions": [
            {
                "assertion": name.split(":", 1)[0],
                "column": name.split(":", 1)[1],
                "success": replay.validator.failures.get(name, 0) == 0,
            }
            for name in replay.rules.rule_names()
        ],
    }
