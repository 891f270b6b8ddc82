"""API keys: each bound to one requester identity; only a SHA-256 hash of the key is stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, String, Table, select

from dativo_ingest.store.database import MetadataStore, create_tables, metadata, migration

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("requester", String(255), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("label", String(255), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32), nullable=True),
    Index("ix_api_keys_requester", "requester"),
)

migration("apikeys", 1)(create_tables(api_keys))


def insert(store: MetadataStore, row: dict[str, Any]) -> None:
    with store.begin() as conn:
        conn.execute(api_keys.insert().values(**row))


def get(store: MetadataStore, key_id: str) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
    return dict(row._mapping) if row else None


def revoke(store: MetadataStore, key_id: str, at: str) -> bool:
    """Mark a key revoked; False when no active key has that id."""
    c = api_keys.c
    with store.begin() as conn:
        result = conn.execute(
            api_keys.update().where(c.key_id == key_id, c.revoked_at.is_(None)).values(revoked_at=at)
        )
    return result.rowcount > 0


def list_all(store: MetadataStore) -> list[dict[str, Any]]:
    """Every key (without hashes), oldest first."""
    c = api_keys.c
    stmt = select(c.key_id, c.requester, c.label, c.created_at, c.revoked_at).order_by(c.created_at, c.key_id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]
