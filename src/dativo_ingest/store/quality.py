"""Quality history: one row per check result of every ``contract test`` and every ingestion run.

A row names the contract (id, version, source type and object, so the context API finds it by either),
the check (its stable id, kind, column, severity), what was checked and failed, the status, when, and
where: ``origin`` is ``test`` (``where`` = server/table) or ``ingestion`` (``where`` = job, ``run_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, func, select

from dativo_ingest.store.database import MetadataStore, create_tables, metadata, migration
from dativo_ingest.store.finops import UTCDateTime

quality_results = Table(
    "quality_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("contract_id", String(255), nullable=False),
    Column("contract_version", String(64), nullable=False),
    Column("source_type", String(255)),
    Column("object_name", String(255)),
    Column("check_id", String(255), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("column_name", String(255)),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("rows_checked", BigInteger),
    Column("failed", BigInteger),
    Column("value", Float),
    Column("origin", String(16), nullable=False),
    Column("location", String(1024), nullable=False),
    Column("run_id", String(64), nullable=False),
    Index("ix_quality_contract_time", "contract_id", "recorded_at"),
    Index("ix_quality_asset_time", "source_type", "object_name", "recorded_at"),
)

migration("quality", 1)(create_tables(quality_results))

COLUMNS = tuple(c.name for c in quality_results.columns if c.name != "id")


def insert_results(store: MetadataStore, rows: Sequence[dict[str, Any]]) -> None:
    """Store the results of one test or run in one transaction."""
    if not rows:
        return
    with store.begin() as conn:
        conn.execute(quality_results.insert(), [{k: row.get(k) for k in COLUMNS} for row in rows])


def history(
    store: MetadataStore,
    *,
    contract_id: str | None = None,
    source_type: str | None = None,
    object_name: str | None = None,
    since: datetime | None = None,
    limit: int = 10_000,
) -> list[dict[str, Any]]:
    """Results oldest first, by contract id or by source type and object."""
    c = quality_results.c
    query = select(quality_results)
    if contract_id is not None:
        query = query.where(c.contract_id == contract_id)
    if source_type is not None:
        query = query.where(c.source_type == source_type)
    if object_name is not None:
        query = query.where(c.object_name == object_name)
    if since is not None:
        query = query.where(c.recorded_at >= since)
    query = query.order_by(c.recorded_at, c.id).limit(limit)
    with store.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def recent(
    store: MetadataStore, *, source_type: str, object_name: str, limit: int = 2_000
) -> list[dict[str, Any]]:
    """The newest ``limit`` results of a contract (by source type and object), newest first."""
    c = quality_results.c
    query = (
        select(quality_results)
        .where(c.source_type == source_type, c.object_name == object_name)
        .order_by(c.id.desc())
        .limit(limit)
    )
    with store.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def latest(store: MetadataStore, *, source_type: str, object_name: str) -> list[dict[str, Any]]:
    """The newest result of each check of a contract (by source type and object), by check id: only
    checks of the contract version recorded last, so a check removed by a new version is not reported."""
    c = quality_results.c
    asset = (c.source_type == source_type, c.object_name == object_name)
    last = select(func.max(c.id)).where(*asset).scalar_subquery()
    version = select(c.contract_version).where(c.id == last).scalar_subquery()
    newest = (
        select(c.check_id, func.max(c.id).label("id"))
        .where(*asset, c.contract_version == version)
        .group_by(c.check_id)
        .subquery()
    )
    query = select(quality_results).join(newest, quality_results.c.id == newest.c.id).order_by(c.check_id)
    with store.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
