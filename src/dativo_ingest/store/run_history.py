"""Run history: one row per finished ingestion run (success or failure), whatever else is switched on.

Lineage and FinOps keep their own run records, but either can be switched off per job; this table is
what run-history questions (SLA freshness and frequency, "when did this contract last load") read.
A run is tied to its contract by ``contract_id`` and by ``source_type``/``object_name`` (the registry
key). Times are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, String, Table, Text, or_, select

from dativo_ingest.store.database import MetadataStore, create_tables, metadata, migration
from dativo_ingest.store.finops import UTCDateTime

run_history = Table(
    "run_history",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("tenant_id", String(255), nullable=False),
    Column("job_name", String(255), nullable=False),
    Column("contract_id", String(255)),
    Column("source_type", String(255)),
    Column("object_name", String(255)),
    Column("contract_version", String(64)),
    Column("status", String(16), nullable=False),  # success | failed
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("rows_read", BigInteger, nullable=False),
    Column("rows_written", BigInteger, nullable=False),
    Column("rows_quarantined", BigInteger, nullable=False),
    Column("error", Text),
    Index("ix_run_history_contract", "source_type", "object_name", "finished_at"),
    Index("ix_run_history_contract_id", "contract_id", "finished_at"),
    Index("ix_run_history_job", "tenant_id", "job_name", "finished_at"),
)

migration("run_history", 1)(create_tables(run_history))


@dataclass(frozen=True)
class RunRecord:
    """One finished run as stored."""

    run_id: str
    tenant_id: str
    job_name: str
    status: str
    started_at: datetime
    finished_at: datetime
    contract_id: str | None = None
    source_type: str | None = None
    object_name: str | None = None
    contract_version: str | None = None
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    error: str | None = None


def record_run(store: MetadataStore, run: RunRecord) -> None:
    """Store one finished run (the run-recording API; ``status`` is ``success`` or ``failed``)."""
    if run.status not in ("success", "failed"):
        raise ValueError(f"run status must be success or failed, not {run.status!r}")
    with store.begin() as conn:
        conn.execute(run_history.insert().values(**asdict(run)))


def contract_runs(
    store: MetadataStore,
    *,
    contract_id: str | None = None,
    source_type: str | None = None,
    object_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10_000,
) -> list[RunRecord]:
    """Runs of one contract (by id, or by source_type/object), oldest first, finished in [since, until]."""
    c = run_history.c
    matches: list[Any] = []
    if contract_id is not None:
        matches.append(c.contract_id == contract_id)
    if source_type is not None and object_name is not None:
        matches.append((c.source_type == source_type) & (c.object_name == object_name))
    if not matches:
        raise ValueError("give contract_id or source_type and object_name")
    query = select(run_history).where(or_(*matches))
    if since is not None:
        query = query.where(c.finished_at >= since)
    if until is not None:
        query = query.where(c.finished_at <= until)
    query = query.order_by(c.finished_at.desc(), c.run_id).limit(limit)
    with store.connect() as conn:
        rows: Sequence[Any] = list(conn.execute(query))
    return [RunRecord(**dict(r._mapping)) for r in reversed(rows)]
