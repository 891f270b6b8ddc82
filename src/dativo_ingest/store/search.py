"""Search index over registered contracts: relevance-ranked text search plus facet filters.

Each contract (latest version) is one row of ``search_documents`` and a few text units: ``asset``
(names and tags), ``about`` (description, domain, owner), field ``name`` and field ``detail``
(description, examples, tags) units carrying the fields' inherited classification labels; units of the
same kind and labels are merged into one row. Searches only match units the requester may see
(:class:`Visibility`), so a query never reveals what the policy withholds. Ranking: matching units per
contract, weighted by kind (asset names 9, field names 4, descriptions 1). On SQLite the units live in
an FTS5 table whose visibility tokens are filtered inside the full-text query; on other databases in a
plain table searched with ``LIKE`` (portable, linear, adequate for thousands of contracts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)

from dativo_ingest.store.database import MetadataStore, create_tables, metadata, migration

SEQ_BITS = 20  # text-unit rowid = doc_id << SEQ_BITS | sequence number
MAX_TERMS = 16

search_documents = Table(
    "search_documents",
    metadata,
    Column("doc_id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(512), nullable=False, unique=True),
    Column("source_type", String(255), nullable=False),
    Column("object", String(255), nullable=False),
    Column("version", String(64), nullable=False),
    Column("name", String(255), nullable=True),
    Column("physical_name", String(255), nullable=True),
    Column("tenant", String(255), nullable=True),
    Column("owner_lc", String(255), nullable=True),
    Column("domain_lc", String(255), nullable=True),
    Column("classes", Text, nullable=False),  # "|PII|SENSITIVE|": every label, field-level included
    Column("summary", Text, nullable=False),  # JSON: what a search hit shows (never field details)
    Index("ix_search_documents_object", "object"),
    Index("ix_search_documents_name", "name"),
    Index("ix_search_documents_physical", "physical_name"),
    Index("ix_search_documents_owner", "owner_lc"),
    Index("ix_search_documents_domain", "domain_lc"),
)

search_facets = Table(
    "search_facets",
    metadata,
    Column("doc_id", Integer, primary_key=True),
    Column("facet", String(16), primary_key=True),  # tag | class
    Column("value", String(255), primary_key=True),
    Column("labels", String(512), primary_key=True),  # inherited labels of the field ("" = asset level)
    Column("part", String(8), nullable=False),  # asset | name (visibility like text units)
    Index("ix_search_facets_value", "facet", "value", "doc_id"),
)

# Portable text units (non-SQLite databases).
search_units = Table(
    "search_units",
    metadata,
    Column("rowid", BigInteger, primary_key=True, autoincrement=False),
    Column("part", String(8), nullable=False),
    Column("labels", String(512), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
)

# SQLite FTS5 text units (created by the migration, not by SQLAlchemy).
search_fts = Table(
    "search_fts",
    MetaData(),
    Column("rowid", BigInteger, primary_key=True),
    Column("vis", Text),  # tokens: the unit's part (passet, pname, pdetail) and labels (lblpii, ...)
    Column("title", Text),
    Column("body", Text),
)
# Low bits of a unit's rowid, squared = its weight: asset names 9, field names 4, descriptions 1.
PART_CODES = {"asset": 3, "name": 2, "detail": 1, "about": 1}


@migration("search", 1)
def _create(conn: Connection) -> None:
    create_tables(search_documents, search_facets)(conn)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
            "part UNINDEXED, labels UNINDEXED, title, body, tokenize='unicode61 remove_diacritics 2')"
        )
        conn.exec_driver_sql(
            "INSERT INTO search_fts(search_fts, rank) VALUES('rank', 'bm25(0, 0, 10.0, 1.0)')"
        )
    else:
        search_units.create(conn, checkfirst=True)


def _fts_visibility_tokens(conn: Connection) -> None:
    """FTS5 units carry visibility as indexed tokens (filtered inside the full-text query); reindex.

    Version 2 introduced the tokens, version 3 changed their shape; both rebuild the index."""
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("DROP TABLE IF EXISTS search_fts")
    conn.exec_driver_sql(
        "CREATE VIRTUAL TABLE search_fts USING fts5("
        "vis, title, body, tokenize='unicode61 remove_diacritics 2')"
    )
    conn.execute(search_facets.delete())
    conn.execute(search_documents.delete())


migration("search", 2)(_fts_visibility_tokens)
migration("search", 3)(_fts_visibility_tokens)
migration("search", 4)(_fts_visibility_tokens)  # units merged per (kind, labels)


# ----- building index entries (pure) -----------------------------------------------------------------
def _labels_text(labels: Iterable[str]) -> str:
    ordered = sorted(labels)
    return "|" + "|".join(ordered) + "|" if ordered else ""


def _words(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p not in (None, "", [], {}))


def index_entry(
    asset: Any,
) -> tuple[dict[str, Any], list[tuple[str, str, str, str]], list[tuple[str, str, str, str]]]:
    """``(document row, [(part, labels, title, body)], [(facet, value, labels, part)])`` for a contract."""
    from dativo_ingest.policy.fields import asset_fields

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


def label_token(label: str) -> str:
    """A label as one FTS token (``PII`` -> ``lblpii``); labels differing only in punctuation collide,
    which can only hide more, never less."""
    return "lbl" + re.sub(r"[\W_]+", "", label.lower())


def _vis_tokens(part: str, labels: str) -> str:
    """``p<part>`` plus one token per label combined with the part (``dlblpii`` for a PII detail unit),
    so that the units a requester may not see form small doclists the query subtracts cheaply."""
    return " ".join([f"p{part}", *(part[0] + label_token(lab) for lab in labels.split("|") if lab)])


# ----- writing ---------------------------------------------------------------------------------------
def _use_fts(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _units_table(conn: Connection) -> Table:
    return search_fts if _use_fts(conn) else search_units


def _drop_units(conn: Connection, doc_id: int) -> None:
    units = _units_table(conn)
    lo, hi = doc_id << SEQ_BITS, ((doc_id + 1) << SEQ_BITS) - 1
    conn.execute(units.delete().where(units.c.rowid.between(lo, hi)))
    conn.execute(search_facets.delete().where(search_facets.c.doc_id == doc_id))


def upsert(store: MetadataStore, assets: Sequence[Any]) -> int:
    """(Re)index ``assets`` (one transaction); returns how many were written."""
    entries = [index_entry(a) for a in assets]
    if not entries:
        return 0
    with store.begin() as conn:
        units_table = _units_table(conn)
        for doc, units, facets in entries:
            existing = conn.execute(
                select(search_documents.c.doc_id).where(search_documents.c.key == doc["key"])
            ).scalar()
            if existing is None:
                doc_id = conn.execute(search_documents.insert().values(**doc)).inserted_primary_key[0]
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
            if units_table is search_fts:
                rows = [
                    {
                        "rowid": r["rowid"],
                        "vis": _vis_tokens(r["part"], r["labels"]),
                        "title": r["title"],
                        "body": r["body"],
                    }
                    for r in rows
                ]
            conn.execute(units_table.insert(), rows)
            if facets:
                conn.execute(
                    search_facets.insert(),
                    [
                        {"doc_id": doc_id, "facet": fa, "value": v, "labels": lab, "part": p}
                        for fa, v, lab, p in facets
                    ],
                )
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


def versions(store: MetadataStore) -> dict[str, str]:
    """Indexed key -> version."""
    with store.connect() as conn:
        return dict(conn.execute(select(search_documents.c.key, search_documents.c.version)).all())


# ----- reading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visibility:
    """What one requester may see: restricted labels, how restricted fields show, tenant scope, deny mode."""

    restricted: frozenset[str] = frozenset()
    mode: str = "redact"  # redact | hide | deny
    tenants: frozenset[str] | None = None


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _free_of(column: Any, restricted: frozenset[str]) -> list[Any]:
    return [~column.like(f"%|{_like_escape(r)}|%", escape="\\") for r in sorted(restricted)]


def _visible_unit(table: Any, vis: Visibility) -> Any:
    if not vis.restricted:
        return literal(True)
    clean = and_(*_free_of(table.c.labels, vis.restricted))
    if vis.mode == "redact":
        return or_(table.c.part != "detail", clean)
    return or_(table.c.part.in_(("asset", "about")), clean)


def _visible_document(vis: Visibility) -> list[Any]:
    d = search_documents.c
    clauses = []
    if vis.tenants is not None:
        clauses.append(or_(d.tenant.is_(None), d.tenant.in_(sorted(vis.tenants))))
    if vis.mode == "deny" and vis.restricted:
        clauses.extend(_free_of(d.classes, vis.restricted))
    return clauses


def terms_of(query: str | None) -> list[str]:
    """Search words of a free-text query (lower case, at most :data:`MAX_TERMS`)."""
    return re.findall(r"\w+", (query or "").lower())[:MAX_TERMS]


def _fts_query(terms: list[str], vis: Visibility) -> str:
    """The FTS5 query: any term in names or descriptions, minus units the requester may not see."""
    query = "{title body} : (" + " OR ".join(f'"{t}"*' for t in terms) + ")"
    if not vis.restricted:
        return query
    tokens = sorted({label_token(r) for r in vis.restricted})
    parts = "d" if vis.mode == "redact" else "dn"  # redact shows restricted field names, hide does not
    hidden = " OR ".join(p + t for p in parts for t in tokens)
    return f"({query}) NOT (vis : ({hidden}))"


def _matches(conn: Connection, terms: list[str], vis: Visibility, top: int | None = None) -> Any:
    """A subquery ``(doc_id, score)`` over visible units matching any term; higher score = better.

    The score counts matching units weighted by kind (asset 9, field name 4, field detail 1), read from
    the rowid alone, so ranking thousands of matches stays cheap.
    """
    if _use_fts(conn):
        f = search_fts
        code = f.c.rowid.op("&")(literal_column("3"))
        inner = (
            select(
                (f.c.rowid.op(">>")(literal_column(str(SEQ_BITS)))).label("doc_id"), (code * code).label("r")
            )
            .where(text("search_fts MATCH :q").bindparams(q=_fts_query(terms, vis)))
            .subquery()
        )
        score = func.sum(inner.c.r).label("score")
        grouped = select(inner.c.doc_id, score).group_by(inner.c.doc_id)
        if top is not None:
            grouped = grouped.order_by(score.desc(), inner.c.doc_id).limit(top)
        return grouped.subquery()
    u = search_units
    title, body = func.lower(u.c.title), func.lower(u.c.body)
    hits = [
        case((title.like(f"%{_like_escape(t)}%", escape="\\"), 10), else_=0)
        + case((body.like(f"%{_like_escape(t)}%", escape="\\"), 1), else_=0)
        for t in terms
    ]
    score = hits[0]
    for h in hits[1:]:
        score = score + h
    inner = (
        select((u.c.rowid.op(">>")(literal_column(str(SEQ_BITS)))).label("doc_id"), score.label("r"))
        .where(_visible_unit(u, vis))
        .subquery()
    )
    return (
        select(inner.c.doc_id, func.sum(inner.c.r).label("score"))
        .where(inner.c.r > 0)
        .group_by(inner.c.doc_id)
        .subquery()
    )


def _facet_filter(facet: str, values: Sequence[str], vis: Visibility) -> Any:
    sf = search_facets
    cond = [sf.c.facet == facet, sf.c.value.in_(sorted(set(values)))]
    if vis.restricted:
        clean = and_(*_free_of(sf.c.labels, vis.restricted))
        shown = sf.c.part == "asset"
        if vis.mode == "redact":  # a redacted field shows only its restricted labels
            shown = or_(shown, sf.c.value.in_(sorted(vis.restricted)))
        cond.append(or_(shown, clean))
    return search_documents.c.doc_id.in_(select(sf.c.doc_id).where(*cond))


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
    where = _visible_document(vis)
    if classification:
        where.append(_facet_filter("class", [c.upper() for c in classification], vis))
    if tags:
        where.append(_facet_filter("tag", [t.lower() for t in tags], vis))
    if owner:
        where.append(d.owner_lc == owner.lower())
    if domain:
        where.append(d.domain_lc == domain.lower())
    terms = terms_of(query)
    with store.connect() as conn:
        if terms:
            # without document-level filters the best ``limit`` matches are picked before the join
            m = _matches(conn, terms, vis, top=None if where else max(0, int(limit)))
            stmt = (
                select(d.key, d.source_type, d.object, d.version, d.summary, m.c.score)
                .join(m, m.c.doc_id == d.doc_id)
                .where(*where)
                .order_by(m.c.score.desc(), d.doc_id)
            )
        else:
            stmt = select(d.key, d.source_type, d.object, d.version, d.summary, literal(0.0).label("score"))
            stmt = stmt.where(*where).order_by(d.key)
        rows = conn.execute(stmt.limit(max(0, int(limit)))).all()
    out = []
    for row in rows:
        hit = {"source_type": row.source_type, "object": row.object, "version": row.version}
        hit.update(json.loads(row.summary))
        hit["score"] = round(float(row.score or 0.0), 6)
        out.append(hit)
    return out


def lookup(
    store: MetadataStore,
    *,
    key: str | None = None,
    name: str | None = None,
    physical_name: str | None = None,
    object_name: str | None = None,
) -> list[dict[str, Any]]:
    """Indexed contracts by key, contract name, physical table name or object name (for SQL resolution)."""
    d = search_documents.c
    conds = []
    if key is not None:
        conds.append(d.key == key)
    if name is not None:
        conds.append(func.lower(d.name) == name.lower())
    if physical_name is not None:
        conds.append(func.lower(d.physical_name) == physical_name.lower())
    if object_name is not None:
        conds.append(d.object == object_name)
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
