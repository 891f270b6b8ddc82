"""``search``: a text query and filters over the index, on the FTS5 path (SQLite) or the ``LIKE`` path."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, literal, select

from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.search.facets import facet_conditions, facet_filters
from dativo_ingest.store.search.fts import Filters, fts_matches
from dativo_ingest.store.search.portable import like_matches
from dativo_ingest.store.search.tables import search_documents, use_fts
from dativo_ingest.store.search.terms import terms_of
from dativo_ingest.store.search.visibility import Visibility, visible_document


def _summaries(conn: Connection, ranked: list[tuple[int, float]]) -> list[tuple[Any, float]]:
    d = search_documents.c
    stmt = select(d.doc_id, d.source_type, d.object, d.version, d.summary)
    rows = {r.doc_id: r for r in conn.execute(stmt.where(d.doc_id.in_([i for i, _ in ranked])))}
    return [(rows[i], score) for i, score in ranked if i in rows]


def search(
    store: MetadataStore,
    vis: Visibility,
    *,
    query: str | None = None,
    classification: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    owner: str | None = None,
    domain: str | None = None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Visible contracts matching the query (any word) and every given filter (any of its values)."""
    d = search_documents.c
    limit = max(0, int(limit))
    facets = []
    if classification:
        facets.append(facet_conditions("class", [c.upper() for c in classification], vis))
    if tags:
        facets.append(facet_conditions("tag", [t.lower() for t in tags], vis))
    where = visible_document(vis)
    if owner:
        where.append(d.owner_lc == owner.lower())
    if domain:
        where.append(d.domain_lc == domain.lower())
    terms = terms_of(query)
    with store.connect() as conn:
        listed = bool(owner or domain)  # an index lists the filtered contracts
        if facets:
            facet_where, rare = facet_filters(conn, facets)
            where, listed = where + facet_where, listed or rare
        if terms and use_fts(conn):
            filters = Filters(where, listed)
            rows = _summaries(conn, fts_matches(conn, terms, vis, filters, limit)) if limit else []
        else:
            if terms:
                m = like_matches(terms, vis)
                stmt = select(d.source_type, d.object, d.version, d.summary, m.c.score)
                stmt = stmt.join(m, m.c.doc_id == d.doc_id).order_by(m.c.score.desc(), d.doc_id)
            else:
                stmt = select(d.source_type, d.object, d.version, d.summary, literal(0.0).label("score"))
                stmt = stmt.order_by(d.key)
            rows = [(r, r.score) for r in conn.execute(stmt.where(*where).limit(limit))]
    out = []
    for row, score in rows:
        hit = {"source_type": row.source_type, "object": row.object, "version": row.version}
        hit.update(json.loads(row.summary))
        hit["score"] = round(float(score or 0.0), 6)
        out.append(hit)
    return out
