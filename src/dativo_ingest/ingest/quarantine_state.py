"""What a job's quarantine holds now: each quarantined row with its status and its current reasons.

Quarantine rows (:mod:`.quarantine`) are never rewritten. A replay (:mod:`.replay`) appends what it
decided about each row it re-validated to the replay ledger, ``<quarantine table>_replays`` in the same
namespace: one row per decision, joined to the quarantine row on ``(run_id, source_row,
source_location)``: ``replayed`` (landed in the target), or ``quarantined`` with the reasons it failed
under the contract version it was checked against.

A row's state is its newest decision that counts. A ``replayed`` decision counts only once the target
table holds the replay's commit (its run key in the table's snapshot history): a replay commits the
ledger first and the target second, so a replay killed between the two leaves decisions that never
count, and their rows stay quarantined for the next replay. A row is therefore landed at most once.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import And, BooleanExpression, EqualTo

from dativo_ingest.ingest.targets.base import RUN_KEY
from dativo_ingest.ingest.targets.iceberg import IcebergTarget

QUARANTINED, REPLAYED = "quarantined", "replayed"
MALFORMED = "malformed_row"  #: rows the source could not parse: kept, never replayable

REPLAY_LEDGER_SCHEMA = pa.schema(
    [
        pa.field("replay_run_id", pa.string(), nullable=False),
        pa.field("replay_run_key", pa.string(), nullable=False),
        pa.field("tenant_id", pa.string(), nullable=False),
        pa.field("job_name", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),  # the run that quarantined the row
        pa.field("source_row", pa.int64(), nullable=False),
        pa.field("source_location", pa.string()),
        pa.field("outcome", pa.string(), nullable=False),  # replayed | quarantined
        pa.field("failed_rules", pa.list_(pa.string()), nullable=False),  # empty when replayed
        pa.field("contract_version", pa.string()),  # the version the row was checked against
        pa.field("decided_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

RowKey = tuple[str, int, str | None]  # (run_id, source_row, source_location)


def ledger_identifier(target: IcebergTarget) -> str:
    """The replay ledger of ``target``'s quarantine table."""
    return f"{target.quarantine_identifier}_replays"


@dataclass
class QuarantinedRow:
    """One quarantined source row and what became of it."""

    run_id: str
    source_row: int
    source_location: str | None
    source_file: str | None
    record: str  # the source values as JSON text
    quarantined_at: datetime
    contract_version: str | None  # of the run that quarantined it
    first_reasons: list[str]  # the rules it failed when quarantined
    status: str = QUARANTINED
    reasons: list[str] = field(default_factory=list)  # current: the newest check's rules
    checked_version: str | None = None  # the contract version of ``reasons``
    replay_run_id: str | None = None  # the replay that landed it (status replayed)
    decided_at: datetime | None = None  # when the newest decision was made

    @property
    def key(self) -> RowKey:
        return (self.run_id, self.source_row, self.source_location)

    @property
    def replayable(self) -> bool:
        """Quarantined, and a parsed row (a malformed line has no values to check)."""
        return self.status == QUARANTINED and MALFORMED not in self.first_reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "source_row": self.source_row,
            "source_location": self.source_location,
            "status": self.status,
            "reasons": self.reasons,
            "checked_against": self.checked_version,
            "first_reasons": self.first_reasons,
            "quarantined_at": self.quarantined_at.isoformat(),
            "contract_version": self.contract_version,
            "replay_run_id": self.replay_run_id,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "record": _parsed(self.record),
        }


@dataclass
class QuarantineRun:
    """The quarantine of one run, summed up."""

    run_id: str
    quarantined_at: datetime
    contract_version: str | None
    rows: int = 0
    replayed: int = 0
    quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)  # current reasons of the rows still quarantined

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "quarantined_at": self.quarantined_at.isoformat(),
            "contract_version": self.contract_version,
            "rows": self.rows,
            "replayed": self.replayed,
            "quarantined": self.quarantined,
            "reasons": dict(sorted(self.reasons.items())),
        }


@dataclass
class QuarantineView:
    """A job's quarantined rows (oldest first) as of the named snapshots."""

    quarantine_table: str
    ledger_table: str
    quarantine_snapshot: str | None
    ledger_snapshot: str | None
    rows: list[QuarantinedRow]

    def runs(self) -> list[QuarantineRun]:
        """One summary per run that quarantined rows, oldest first."""
        runs: dict[str, QuarantineRun] = {}
        for row in self.rows:
            run = runs.setdefault(
                row.run_id, QuarantineRun(row.run_id, row.quarantined_at, row.contract_version)
            )
            run.rows += 1
            if row.status == REPLAYED:
                run.replayed += 1
            else:
                run.quarantined += 1
                run.reasons.update(row.reasons)
        return list(runs.values())


def read_quarantine(
    target: IcebergTarget, tenant_id: str, job_name: str, run_id: str | None = None
) -> QuarantineView:
    """The quarantined rows of ``tenant_id/job_name`` (of run ``run_id`` only, when given)."""
    catalog = target.catalog
    quarantine = _load(catalog, target.quarantine_identifier)
    ledger = _load(catalog, ledger_identifier(target))
    main = _load(catalog, target.identifier)
    job_filter: BooleanExpression = And(_equal("tenant_id", tenant_id), _equal("job_name", job_name))
    run_filter = And(job_filter, _equal("run_id", run_id)) if run_id else job_filter
    rows = [_row(r) for r in _scan(quarantine, run_filter)]
    rows.sort(key=lambda r: (r.quarantined_at, r.run_id, r.source_file or "", r.source_row))
    committed = _committed_keys(main)
    by_key = {row.key: row for row in rows}
    for decision in sorted(_scan(ledger, run_filter), key=lambda d: d["decided_at"]):
        row = by_key.get((decision["run_id"], decision["source_row"], decision["source_location"]))
        if row is None or row.status == REPLAYED:
            continue
        if decision["outcome"] == REPLAYED:
            if decision["replay_run_key"] not in committed:
                continue  # its replay never committed the target: the row was not landed
            row.status, row.reasons, row.replay_run_id = REPLAYED, [], decision["replay_run_id"]
        else:
            row.reasons = list(decision["failed_rules"])
        row.checked_version, row.decided_at = decision["contract_version"], decision["decided_at"]
    return QuarantineView(
        target.quarantine_identifier,
        ledger_identifier(target),
        _snapshot(quarantine),
        _snapshot(ledger),
        rows,
    )


def quarantined_runs(target: IcebergTarget, tenant_id: str, job_name: str) -> list[str]:
    """The ids of the runs of ``tenant_id/job_name`` that quarantined rows (only that column is read)."""
    table = _load(target.catalog, target.quarantine_identifier)
    if table is None or table.current_snapshot() is None:
        return []
    job_filter = And(_equal("tenant_id", tenant_id), _equal("job_name", job_name))
    ids = table.scan(row_filter=job_filter, selected_fields=("run_id",)).to_arrow().column("run_id")
    return sorted(set(ids.to_pylist()))


def _row(data: dict[str, Any]) -> QuarantinedRow:
    reasons = list(data["failed_rules"] or [])
    return QuarantinedRow(
        run_id=data["run_id"],
        source_row=data["source_row"],
        source_location=data.get("source_location"),
        source_file=data.get("source_file"),
        record=data["record"],
        quarantined_at=data["quarantined_at"],
        contract_version=data.get("contract_version"),
        first_reasons=reasons,
        reasons=list(reasons),
        checked_version=data.get("contract_version"),
    )


def _equal(column: str, value: str) -> BooleanExpression:
    return EqualTo(column, value)  # type: ignore[call-arg, misc]  # pydantic hides the signature


def _load(catalog: Any, identifier: str) -> Any:
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        return None


def _scan(table: Any, row_filter: BooleanExpression) -> list[dict[str, Any]]:
    if table is None or table.current_snapshot() is None:
        return []
    return table.scan(row_filter=row_filter).to_arrow().to_pylist()


def _snapshot(table: Any) -> str | None:
    snapshot = table.current_snapshot() if table is not None else None
    return str(snapshot.snapshot_id) if snapshot is not None else None


def _committed_keys(table: Any) -> set[str]:
    """The run keys of every commit in ``table``'s history."""
    if table is None:
        return set()
    return {
        str(s.summary.get(RUN_KEY)) for s in table.metadata.snapshots if s.summary and s.summary.get(RUN_KEY)
    }


def _parsed(record: str) -> Any:
    try:
        return json.loads(record)
    except ValueError:
        return record
