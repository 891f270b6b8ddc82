"""Facet filters (classification labels, tags) as document conditions, the rarest list driving."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from dativo_ingest.store.search.tables import search_documents, search_facets
from dativo_ingest.store.search.visibility import Visibility, free_of

FACET_CAP = 300  # facet lists are counted up to this size: the rarest shorter one drives the filter


def facet_conditions(facet: str, values: Sequence[str], vis: Visibility) -> list[Any]:
    sf = search_facets
    cond = [sf.c.facet == facet, sf.c.value.in_(sorted(set(values)))]
    if vis.restricted:
        clean = and_(*free_of(sf.c.labels, vis.restricted))
        shown = sf.c.part == "asset"
        if vis.mode == "redact":  # a redacted field shows only its restricted labels
            shown = or_(shown, sf.c.value.in_(sorted(vis.restricted)))
        cond.append(or_(shown, clean))
    return cond


def facet_filters(conn: Connection, facets: list[list[Any]]) -> tuple[list[Any], bool]:
    """Facet conditions as document filters, and whether a short list drives them. The rarest facet
    list (counted up to :data:`FACET_CAP`) drives when it is shorter than the cap; the other facets
    (all of them when every list is long, so documents are read in order until enough pass) are
    checked per document."""
    sf = search_facets

    def size(cond: list[Any]) -> int:
        capped = select(sf.c.doc_id).where(*cond[:2]).limit(FACET_CAP).subquery()  # facet, value
        return conn.execute(select(func.count()).select_from(capped)).scalar_one()

    sizes = sorted((size(cond), i) for i, cond in enumerate(facets))
    doc_id = search_documents.c.doc_id
    out: list[Any] = []
    for n, i in sizes:
        if not out and n < FACET_CAP:
            out.append(doc_id.in_(select(sf.c.doc_id).where(*facets[i])))
        else:
            out.append(select(sf.c.doc_id).where(sf.c.doc_id == doc_id, *facets[i]).exists())
    return out, sizes[0][0] < FACET_CAP
