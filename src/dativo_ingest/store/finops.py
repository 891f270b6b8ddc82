"""FinOps history tables: one row per finished run, one row per priced charge of a run.

Money is stored as integer nano-dollars (``*_nusd``), so sums are exact on every database;
quantities and unit prices are exact decimal strings. Times are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    TypeDecorator,
    func,
    select,
)

from dativo_ingest.store.database import MetadataStore, create_tables, metadata, migration


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every dialect (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


MONEY_COLUMNS = ("compute_nusd", "storage_nusd", "network_nusd", "api_nusd", "total_nusd")

finops_runs = Table(
    "finops_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("tenant_id", String(255), nullable=False),
    Column("job_name", String(255), nullable=False),
    Column("cost_center", String(255)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("execution_time_seconds", Float, nullable=False),
    Column("measured", Boolean, nullable=False),
    Column("cpu_time_sec", Float, nullable=False),
    Column("memory_peak_mb", Float, nullable=False),
    Column("data_bytes_ingested", BigInteger, nullable=False),
    Column("data_bytes_written", BigInteger, nullable=False),
    Column("api_calls_count", BigInteger, nullable=False),
    Column("api_calls_by_type", JSON, nullable=False),
    Column("storage_days", Float, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in MONEY_COLUMNS),
    Column("currency", String(3), nullable=False),
    Column("pricing_catalog", String(128), nullable=False),
    Column("pricing_version", String(64), nullable=False),
    Index("ix_finops_runs_tenant_job_started", "tenant_id", "job_name", "started_at"),
    Index("ix_finops_runs_started", "started_at"),
)

finops_charges = Table(
    "finops_charges",
    metadata,
    Column("run_id", String(64), ForeignKey("finops_runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("charge", String(96), primary_key=True),
    Column("category", String(16), nullable=False),
    Column("quantity", String(48), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("unit_price", String(48), nullable=False),
    Column("list_unit_price", String(48), nullable=False),
    Column("cost_nusd", BigInteger, nullable=False),
    Column("list_cost_nusd", BigInteger, nullable=False),
    Column("description", String(255), nullable=False),
)

migration("finops", 1)(create_tables(finops_runs, finops_charges))

#: Report groupings: name -> columns grouped by.
GROUPINGS: dict[str, tuple[str, ...]] = {
    "tenant": ("tenant_id",),
    "job": ("tenant_id", "job_name"),
    "cost_center": ("cost_center",),
}


def insert_run(store: MetadataStore, run: dict[str, Any], charges: Sequence[dict[str, Any]]) -> None:
    """Store one finished run and its charges in one transaction."""
    with store.begin() as conn:
        conn.execute(finops_runs.insert().values(**run))
        if charges:
            conn.execute(finops_charges.insert(), [{"run_id": run["run_id"], **c} for c in charges])


def _filters(
    tenant_id: str | None, job_name: str | None, since: datetime | None, until: datetime | None
) -> list[Any]:
    c = finops_runs.c
    clauses = []
    if tenant_id is not None:
        clauses.append(c.tenant_id == tenant_id)
    if job_name is not None:
        clauses.append(c.job_name == job_name)
    if since is not None:
        clauses.append(c.started_at >= since)
    if until is not None:
        clauses.append(c.started_at < until)
    return clauses


def select_runs(
    store: MetadataStore | None,
    *,
    tenant_id: str | None = None,
    job_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    exclude_run_id: str | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[dict[str, Any]]:
    """Runs matching the filters (``since`` inclusive, ``until`` exclusive, on the start time)."""
    if store is None:  # no history yet
        return []
    c = finops_runs.c
    query = select(finops_runs).where(*_filters(tenant_id, job_name, since, until))
    if exclude_run_id is not None:
        query = query.where(c.run_id != exclude_run_id)
    order = (c.started_at.desc(), c.run_id.desc()) if newest_first else (c.started_at, c.run_id)
    query = query.order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    with store.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def select_charges(
    store: MetadataStore | None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant_id: str | None = None,
) -> list[dict[str, Any]]:
    """Every charge of the matching runs, with its run's tenant, job, cost centre and times."""
    if store is None:  # no history yet
        return []
    r = finops_runs.c
    query = (
        select(
            finops_charges,
            r.tenant_id,
            r.job_name,
            r.cost_center,
            r.started_at,
            r.finished_at,
            r.currency,
            r.pricing_catalog,
            r.pricing_version,
        )
        .join(finops_runs, finops_runs.c.run_id == finops_charges.c.run_id)
        .where(*_filters(tenant_id, None, since, until))
        .order_by(r.started_at, r.run_id, finops_charges.c.charge)
    )
    with store.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def aggregate(
    store: MetadataStore | None,
    by: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant_id: str | None = None,
) -> list[dict[str, Any]]:
    """Run counts, usage and exact money sums grouped by ``by`` (a key of :data:`GROUPINGS`)."""
    if store is None:  # no history yet
        return []
    c = finops_runs.c
    keys = [c[name] for name in GROUPINGS[by]]
    sums = [
        func.count().label("runs"),
        func.sum(c.cpu_time_sec).label("cpu_time_sec"),
        func.sum(c.data_bytes_ingested).label("data_bytes_ingested"),
        func.sum(c.data_bytes_written).label("data_bytes_written"),
        func.sum(c.api_calls_count).label("api_calls_count"),
        *(func.sum(c[name]).label(name) for name in MONEY_COLUMNS),
    ]
    query = (
        select(*keys, *sums).where(*_filters(tenant_id, None, since, until)).group_by(*keys).order_by(*keys)
    )
    with store.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:  # SUM over BIGINT comes back as Decimal on PostgreSQL
        for name in ("data_bytes_ingested", "data_bytes_written", "api_calls_count", *MONEY_COLUMNS):
            row[name] = int(row[name] or 0)
        row["cpu_time_sec"] = float(row["cpu_time_sec"] or 0.0)
    return rows
