"""Portable text search (databases other than SQLite): ``LIKE`` over the plain units table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from dativo_ingest.store.search.tables import doc_of, search_units
from dativo_ingest.store.search.visibility import Visibility, like_escape, visible_unit


def like_matches(terms: list[str], vis: Visibility) -> Any:
    """A subquery ``(doc_id, score)`` over visible units matching any term (portable ``LIKE`` path)."""
    u = search_units
    title, body = func.lower(u.c.title), func.lower(u.c.body)
    hits = [
        case((title.like(f"%{like_escape(t)}%", escape="\\"), 10), else_=0)
        + case((body.like(f"%{like_escape(t)}%", escape="\\"), 1), else_=0)
        for t in terms
    ]
    score = hits[0]
    for h in hits[1:]:
        score = score + h
    inner = select(doc_of(u.c.rowid).label("doc_id"), score.label("r")).where(visible_unit(u, vis)).subquery()
    return (
        select(inner.c.doc_id, func.sum(inner.c.r).label("score"))
        .where(inner.c.r > 0)
        .group_by(inner.c.doc_id)
        .subquery()
    )
