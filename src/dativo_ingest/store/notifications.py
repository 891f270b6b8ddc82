"""Notification deliveries: one row per (event, channel) delivery, one row per attempt.

Nothing secret is stored: a delivery names its channel by the name given in the configuration and its
``target`` as a redacted description (``https://hooks.example.com/...``, ``smtp://host:587``); error
texts are redacted before they get here. Times are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, select

from dativo_ingest.store.database import MetadataStore, create_tables, metadata, migration
from dativo_ingest.store.finops import UTCDateTime

#: Delivery states: ``pending`` (attempts under way), ``delivered``, ``failed`` (attempts exhausted).
STATUSES = ("pending", "delivered", "failed")

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("delivery_id", String(32), primary_key=True),
    Column("event_id", String(32), nullable=False),
    Column("event", String(64), nullable=False),
    Column("channel", String(128), nullable=False),
    Column("channel_type", String(16), nullable=False),
    Column("target", String(512), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("summary", Text, nullable=False),
    Column("contract", String(255)),
    Column("job", String(255)),
    Column("run_id", String(64)),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_notification_deliveries_created", "created_at"),
    Index("ix_notification_deliveries_status", "status", "created_at"),
)

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column(
        "delivery_id",
        String(32),
        ForeignKey("notification_deliveries.delivery_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("attempt", Integer, primary_key=True),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered | error
    Column("detail", Text, nullable=False),
    Column("duration_ms", Integer, nullable=False),
)

migration("notifications", 1)(create_tables(notification_deliveries, notification_attempts))


def insert_delivery(store: MetadataStore, row: dict[str, Any]) -> None:
    """Store a new delivery (``status`` pending, no attempts yet)."""
    with store.begin() as conn:
        conn.execute(
            notification_deliveries.insert().values(
                **row, status="pending", attempts=0, updated_at=row["created_at"]
            )
        )


def record_attempt(
    store: MetadataStore,
    delivery_id: str,
    attempt: int,
    *,
    at: datetime,
    outcome: str,
    detail: str,
    duration_ms: int,
    status: str = "pending",
) -> None:
    """Store attempt ``attempt`` of a delivery and the delivery's state after it."""
    with store.begin() as conn:
        conn.execute(
            notification_attempts.insert().values(
                delivery_id=delivery_id,
                attempt=attempt,
                attempted_at=at,
                outcome=outcome,
                detail=detail,
                duration_ms=duration_ms,
            )
        )
        values: dict[str, Any] = {"attempts": attempt, "status": status, "updated_at": at}
        if outcome != "delivered":
            values["last_error"] = detail
        conn.execute(
            notification_deliveries.update()
            .where(notification_deliveries.c.delivery_id == delivery_id)
            .values(**values)
        )


def announced(store: MetadataStore, event_id: str) -> bool:
    """Whether event ``event_id`` has a delivery that did not fail (delivered, or still being tried)."""
    d = notification_deliveries.c
    query = select(d.delivery_id).where(d.event_id == event_id, d.status != "failed").limit(1)
    with store.connect() as conn:
        return conn.execute(query).first() is not None


def list_deliveries(
    store: MetadataStore, *, failed_only: bool = False, event: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Deliveries, newest first, each with its ``attempts`` (oldest first)."""
    d = notification_deliveries.c
    query = select(notification_deliveries).order_by(d.created_at.desc(), d.delivery_id).limit(limit)
    if failed_only:
        query = query.where(d.status == "failed")
    if event is not None:
        query = query.where(d.event == event)
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        ids = [r["delivery_id"] for r in rows]
        attempts: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            a = notification_attempts.c
            found = conn.execute(
                select(notification_attempts).where(a.delivery_id.in_(ids)).order_by(a.delivery_id, a.attempt)
            )
            for r in found:
                item = dict(r._mapping)
                attempts[item.pop("delivery_id")].append(item)
    for row in rows:
        row["attempts_detail"] = attempts[row["delivery_id"]]
    return rows
