"""Audit log: one row per policy decision (requester, action, resource, outcome, reason, time).

Times are ISO-8601 UTC strings with microseconds (``2025-01-31T12:00:00.000001Z``), which sort
correctly as text on every dialect. ``details`` is JSON text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, func, select

from dativo_ingest.store.database import MetadataStore, create_tables, metadata, migration

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("requester", String(255), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("resource_id", String(512), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", Text, nullable=False, default="{}"),
    Index("ix_audit_log_requester_at", "requester", "at"),
    Index("ix_audit_log_at", "at"),
)

migration("audit", 1)(create_tables(audit_log))
_INSERT = audit_log.insert()


def utc_stamp(moment: datetime | None = None) -> str:
    """``moment`` (default now) as the sortable UTC text the audit log stores."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def insert(store: MetadataStore, entry: dict[str, Any]) -> None:
    """Store one decision (committed before returning)."""
    row = dict(entry)
    row["details"] = json.dumps(row.get("details") or {}, sort_keys=True, default=str)
    row.setdefault("at", utc_stamp())
    with store.begin() as conn:
        conn.execute(_INSERT, [row])


def _where(requester: str | None, since: datetime | None, action: str | None) -> list[Any]:
    c = audit_log.c
    clauses = []
    if requester is not None:
        clauses.append(c.requester == requester)
    if since is not None:
        clauses.append(c.at >= utc_stamp(since))
    if action is not None:
        clauses.append(c.action == action)
    return clauses


def query(
    store: MetadataStore,
    *,
    requester: str | None = None,
    since: datetime | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Decisions matching the filters, oldest first (the newest ``limit`` when a limit is given)."""
    c = audit_log.c
    stmt = select(audit_log).where(*_where(requester, since, action)).order_by(c.at.desc(), c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    for row in rows:
        row["details"] = json.loads(row["details"] or "{}")
    rows.reverse()
    return rows


def count(
    store: MetadataStore,
    *,
    requester: str | None = None,
    since: datetime | None = None,
    action: str | None = None,
) -> int:
    """How many decisions match the filters."""
    stmt = select(func.count()).select_from(audit_log).where(*_where(requester, since, action))
    with store.connect() as conn:
        return int(conn.execute(stmt).scalar_one())
