"""Writing the index: a contract's document row, text units, facets and words; upsert and removal."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.policy.fields import asset_fields
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.search.tables import (
    PART_CODES,
    SEQ_BITS,
    search_documents,
    search_facets,
    search_fts,
    search_terms,
    units_table,
    use_fts,
)
from dativo_ingest.store.search.terms import indexed_words
from dativo_ingest.store.search.visibility import vis_tokens


def _labels_text(labels: Iterable[str]) -> str:
    ordered = sorted(labels)
    return "|" + "|".join(ordered) + "|" if ordered else ""


def _words(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p not in (None, "", [], {}))


def index_entry(
    asset: AssetDefinition,
) -> tuple[dict[str, Any], list[tuple[str, str, str, str]], list[tuple[str, str, str, str]]]:
    """``(document row, [(part, labels, title, body)], [(facet, value, labels, part)])`` for a contract."""
    comp = asset.compliance
    asset_labels = sorted({c.upper() for c in comp.classification}) if comp else []
    desc = asset.description
    obj = asset.primary_object
    summary = {
        "name": asset.name,
        "version": asset.version,
        "status": asset.status,
        "owner": asset.owner,
        "domain": asset.domain,
        "data_product": asset.data_product,
        "tags": list(asset.tags),
        "classification": asset_labels,
        "description": desc.purpose if desc else None,
        "tenant": asset.tenant,
    }
    doc = {
        "key": f"{asset.source_type}/{asset.object_name}",
        "source_type": asset.source_type,
        "object": asset.object_name,
        "version": asset.version,
        "name": asset.name,
        "physical_name": obj.physical_name if obj else None,
        "tenant": asset.tenant,
        "owner_lc": asset.owner.lower() if asset.owner else None,
        "domain_lc": asset.domain.lower() if asset.domain else None,
        "classes": _labels_text({*asset_labels, *asset.classifications}),
        "summary": json.dumps(summary, sort_keys=True),
    }
    about = _words(
        desc.purpose if desc else None,
        desc.usage if desc else None,
        desc.limitations if desc else None,
        asset.domain,
        asset.data_product,
        asset.owner,
        " ".join(asset_labels),
    )
    units = [
        (
            "asset",
            "",
            _words(asset.name, asset.source_type, asset.object_name, asset.id, " ".join(asset.tags)),
            "",
        ),
        ("about", "", "", about),
    ]
    facets = {("tag", t.lower(), "", "asset") for t in asset.tags}
    facets.update(("class", c, "", "asset") for c in asset_labels)
    for info in asset_fields(asset):
        f, labels = info.field, _labels_text(info.labels)
        units.append(("name", labels, info.path.replace("[]", ""), ""))
        detail = _words(
            f.description, f.business_name, " ".join(map(str, f.examples or [])), " ".join(f.tags)
        )
        if detail:
            units.append(("detail", labels, "", detail))
        facets.update(("class", c, labels, "name") for c in info.labels)
    return doc, _merge_units(units), sorted(facets)


def _merge_units(units: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """One unit per (kind, labels): fewer rows per contract keeps broad queries cheap to rank."""
    merged: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for part, labels, title, body in units:
        titles, bodies = merged.setdefault((part, labels), ([], []))
        if title:
            titles.append(title)
        if body:
            bodies.append(body)
    return [(p, lab, " ".join(t), " ".join(b)) for (p, lab), (t, b) in merged.items()]


def _drop_units(conn: Connection, doc_id: int) -> None:
    units = units_table(conn)
    lo, hi = doc_id << SEQ_BITS, ((doc_id + 1) << SEQ_BITS) - 1
    conn.execute(units.delete().where(units.c.rowid.between(lo, hi)))
    conn.execute(search_facets.delete().where(search_facets.c.doc_id == doc_id))


def upsert(store: MetadataStore, assets: Sequence[Any]) -> int:
    """(Re)index ``assets`` (one transaction); returns how many were written."""
    entries = [index_entry(a) for a in assets]
    if not entries:
        return 0
    words: set[str] = set()
    with store.begin() as conn:
        table = units_table(conn)
        for doc, units, facets in entries:
            existing = conn.execute(
                select(search_documents.c.doc_id).where(search_documents.c.key == doc["key"])
            ).scalar()
            if existing is None:
                inserted = conn.execute(search_documents.insert().values(**doc)).inserted_primary_key
                if inserted is None:  # a single-row insert always reports its key
                    raise RuntimeError("the search index insert reported no primary key")
                doc_id = inserted[0]
            else:
                doc_id = existing
                _drop_units(conn, doc_id)
                conn.execute(
                    search_documents.update().where(search_documents.c.doc_id == doc_id).values(**doc)
                )
            units = units[: (1 << (SEQ_BITS - 2)) - 1]
            rows = [
                {
                    "rowid": (doc_id << SEQ_BITS) | (i << 2) | PART_CODES[p],
                    "part": p,
                    "labels": lab,
                    "title": t,
                    "body": b,
                }
                for i, (p, lab, t, b) in enumerate(units)
            ]
            if table is search_fts:
                words.update(*(indexed_words(f"{r['title']} {r['body']}") for r in rows))
                rows = [
                    {
                        "rowid": r["rowid"],
                        "vis": vis_tokens(r["part"], r["labels"]),
                        "title": r["title"],
                        "body": r["body"],
                    }
                    for r in rows
                ]
            conn.execute(table.insert(), rows)
            if facets:
                conn.execute(
                    search_facets.insert(),
                    [
                        {"doc_id": doc_id, "facet": fa, "value": v, "labels": lab, "part": p}
                        for fa, v, lab, p in facets
                    ],
                )
        if words:
            insert = search_terms.insert().prefix_with("OR IGNORE")
            conn.execute(insert, [{"term": w} for w in sorted(words)])
    return len(entries)


def remove(store: MetadataStore, keys: Iterable[str]) -> int:
    """Drop contracts from the index by key (``source/object``)."""
    removed = 0
    with store.begin() as conn:
        for key in keys:
            doc_id = conn.execute(
                select(search_documents.c.doc_id).where(search_documents.c.key == key)
            ).scalar()
            if doc_id is None:
                continue
            _drop_units(conn, doc_id)
            conn.execute(search_documents.delete().where(search_documents.c.doc_id == doc_id))
            removed += 1
    return removed


def optimize(store: MetadataStore) -> None:
    """Merge the FTS5 index into one segment (SQLite; after bulk changes): lookups seek one b-tree."""
    with store.begin() as conn:
        if use_fts(conn):
            conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES('optimize')")
