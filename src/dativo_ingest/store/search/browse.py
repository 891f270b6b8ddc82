"""``visible_documents``: every contract a requester may see, as the index summarises it (for browsing)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.search.tables import search_documents
from dativo_ingest.store.search.visibility import Visibility, visible_document


def visible_documents(store: MetadataStore, vis: Visibility) -> list[dict[str, Any]]:
    """The summary of every indexed contract ``vis`` may see (latest versions), ordered by key.

    Summaries hold asset-level metadata only (name, owner, domain, tags, asset classification,
    status, purpose), never field details, so they are safe to show to anyone who may see the asset."""
    d = search_documents.c
    stmt = select(d.source_type, d.object, d.version, d.summary).where(*visible_document(vis)).order_by(d.key)
    out = []
    with store.connect() as conn:
        for row in conn.execute(stmt):
            hit = {"source_type": row.source_type, "object": row.object, "version": row.version}
            hit.update(json.loads(row.summary))
            out.append(hit)
    return out
