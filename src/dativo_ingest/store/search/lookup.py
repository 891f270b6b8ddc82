"""Indexed contracts read by key or name, without text search: SQL table resolution and versions."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import func, or_, select

from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.search.tables import search_documents


def versions(store: MetadataStore) -> dict[str, str]:
    """Indexed key -> version."""
    with store.connect() as conn:
        return dict(conn.execute(select(search_documents.c.key, search_documents.c.version)).all())


def latest_versions(store: MetadataStore) -> dict[tuple[str, str], str]:
    """(source type, object) -> indexed version, for the catalog's in-memory copy (refreshed per sync)."""
    d = search_documents.c
    with store.connect() as conn:
        rows = cast(
            "list[tuple[str, str, str]]", conn.execute(select(d.source_type, d.object, d.version)).all()
        )
    return {(s, o): v for s, o, v in rows}


def lookup(
    store: MetadataStore,
    *,
    key: str | None = None,
    name: str | None = None,
    physical_name: str | None = None,
    object_name: str | None = None,
) -> list[dict[str, Any]]:
    """Indexed contracts by key, contract name, physical table name or object name (for SQL resolution).

    Every comparison ignores case: SQL identifiers are case-insensitive unless quoted, and a query that
    spells a governed table in another case must still resolve to its contract (fail closed).
    """
    d = search_documents.c
    conds = []
    if key is not None:
        conds.append(func.lower(d.key) == key.lower())
    if name is not None:
        conds.append(func.lower(d.name) == name.lower())
    if physical_name is not None:
        conds.append(func.lower(d.physical_name) == physical_name.lower())
    if object_name is not None:
        conds.append(func.lower(d.object) == object_name.lower())
    if not conds:
        return []
    stmt = (
        select(d.key, d.source_type, d.object, d.version, d.tenant, d.classes)
        .where(or_(*conds))
        .order_by(d.key)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt.limit(20))]


def document(store: MetadataStore, key: str) -> dict[str, Any] | None:
    """One indexed contract's row (tenant and labels), or None."""
    d = search_documents.c
    with store.connect() as conn:
        row = conn.execute(
            select(d.key, d.source_type, d.object, d.version, d.tenant, d.classes).where(d.key == key)
        ).first()
    return dict(row._mapping) if row else None
