"""Search index over registered contracts: relevance-ranked text search plus facet filters.

Each contract (latest version) is one row of ``search_documents`` and a few text units: ``asset``
(names and tags), ``about`` (description, domain, owner), field ``name`` and field ``detail``
(description, examples, tags) units carrying the fields' inherited classification labels; units of the
same kind and labels are merged into one row. Searches only match units the requester may see
(:class:`Visibility`), so a query never reveals what the policy withholds.

On SQLite the units live in an FTS5 table whose visibility tokens are filtered inside the full-text
query. A contract ranks by the kind of its best matching unit (asset names 9, field names 4,
descriptions 1), doubled when that unit holds every query word; ties go to the contract indexed
first. The ranking classes are read in rowid order and reading stops once ``limit`` contracts are
found, so a common word costs as little as a rare one; few matches, or a filter leaving few
candidates, are scored directly. Query words complete against the indexed words
(:data:`search_terms`) rather than FTS5 prefix queries, which would merge every doclist up front.
On other databases the units live in a plain table searched with ``LIKE`` (portable, linear, adequate
for thousands of contracts) and rank by matching units weighted by kind.
"""

from __future__ import annotations

import json
import re
import unicodedata
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
MAX_EXPANSIONS = 16  # indexed words a query word may complete to before a prefix query is used
CANDIDATES = 50  # filtered searches with at most this many candidate contracts score them directly
FEW = 200  # searches matching at most this many units score them all directly
LISTED = 2000  # filtered contracts listed up to this many go to the FTS5 query as a list
FACET_CAP = 300  # facet lists are counted up to this size: the rarest shorter one drives the filter

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
CODE_WEIGHTS = {code: code * code for code in PART_CODES.values()}
KIND_WEIGHTS = {"asset": 9, "name": 4, "detail": 1}  # ranking classes, best first
KIND_TOKENS = {"asset": "passet", "name": "pname", "detail": "(pdetail OR pabout)"}

# SQLite: every word the FTS5 units hold (prefix completion without FTS5 prefix queries).
search_terms = Table("search_terms", MetaData(), Column("term", Text, primary_key=True))


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


@migration("search", 5)
def _term_list(conn: Connection) -> None:
    """SQLite: the indexed words, which query words complete against; rebuilds the index to fill it."""
    if conn.dialect.name != "sqlite":
        return
    search_terms.create(conn, checkfirst=True)
    _fts_visibility_tokens(conn)


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
    words: set[str] = set()
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
                words.update(*(_tokens(f"{r['title']} {r['body']}") for r in rows))
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
        if _use_fts(conn):
            conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES('optimize')")


def versions(store: MetadataStore) -> dict[str, str]:
    """Indexed key -> version."""
    with store.connect() as conn:
        return dict(conn.execute(select(search_documents.c.key, search_documents.c.version)).all())


def latest_versions(store: MetadataStore) -> dict[tuple[str, str], str]:
    """(source type, object) -> indexed version, for the catalog's in-memory copy (refreshed per sync)."""
    d = search_documents.c
    with store.connect() as conn:
        rows = conn.execute(select(d.source_type, d.object, d.version)).all()
    return {(s, o): v for s, o, v in rows}


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


def _hidden(vis: Visibility) -> str:
    """`` NOT (vis : ...)`` subtracting the units the requester may not see, or ``""``."""
    if not vis.restricted:
        return ""
    tokens = sorted({label_token(r) for r in vis.restricted})
    parts = "d" if vis.mode == "redact" else "dn"  # redact shows restricted field names, hide does not
    return " NOT (vis : (" + " OR ".join(p + t for p in parts for t in tokens) + "))"


@dataclass(frozen=True)
class _Query:
    """A text query compiled to FTS5: its term phrases joined with OR (any) and AND (all)."""

    any: str
    all: str | None  # None for a one-word query
    lazy: bool  # no FTS5 prefix query: every phrase reads its doclists lazily (cheap rowid seeks)

    def visible(self, expr: str, vis: Visibility, kind: str | None = None) -> str:
        """``expr`` over names and descriptions (of one unit ``kind``), minus hidden units."""
        query = "({title body} : (" + expr + "))"
        if kind is not None:
            query += f" AND (vis : {KIND_TOKENS[kind]})"
        return f"({query}){_hidden(vis)}"

    def classes(self, vis: Visibility) -> list[tuple[float, str]]:
        """``(score, FTS5 query)`` per ranking class, best first: the unit kind of the best match
        (asset names 9, field names 4, descriptions 1), doubled when one unit holds every word."""
        out = []
        for kind, weight in KIND_WEIGHTS.items():
            if self.all is not None:
                out.append((2.0 * weight, self.visible(self.all, vis, kind)))
            out.append((float(weight), self.visible(self.any, vis, kind)))
        return out


def _fold(text: str) -> str:
    """Lower case without diacritics, as the FTS5 tokenizer folds (``unicode61 remove_diacritics 2``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", _fold(text)))


_COMPLETIONS = "SELECT term FROM search_terms WHERE term > ? AND term < ? ORDER BY term LIMIT {n}"


def _phrase(word: str, completions: list[str] | None) -> str:
    """FTS5 phrases for one word: itself or one of its ``completions``, or (None) an FTS5 prefix query."""
    if completions is None:
        return '"' + word.replace('"', '""') + '"*'
    return "(" + " OR ".join(f'"{w}"' for w in [word, *completions]) + ")"


def _compile(conn: Connection, terms: list[str]) -> _Query | None:
    """The FTS5 query: each word as itself or any indexed word it begins (None: no word left).

    Completions come from :data:`search_terms` (one statement for all words), so common words stream
    instead of FTS5 merging every doclist a prefix query touches; a word with more than
    :data:`MAX_EXPANSIONS` completions (or not one token) falls back to the FTS5 prefix query."""
    words = [w for w in dict.fromkeys(_fold(t) for t in terms) if w]
    found: dict[int, list[str]] = {i: [] for i, w in enumerate(words) if re.fullmatch(r"[^\W_]+", w)}
    if found:
        each = _COMPLETIONS.format(n=MAX_EXPANSIONS + 1)
        sql = " UNION ALL ".join(f"SELECT {i}, term FROM ({each})" for i in found)
        params = tuple(p for i in found for p in (words[i], words[i] + "\U0010ffff"))
        for i, term in conn.exec_driver_sql(sql, params):
            found[i].append(term)
    completions = {i: c for i, c in found.items() if len(c) <= MAX_EXPANSIONS}
    phrases = [_phrase(w, completions.get(i)) for i, w in enumerate(words)]
    if not phrases:
        return None
    all_words = " AND ".join(phrases) if len(phrases) > 1 else None
    return _Query(" OR ".join(phrases), all_words, lazy=len(completions) == len(words))


def _doc_of(rowid: Any) -> Any:
    return rowid.op(">>")(literal_column(str(SEQ_BITS)))


@dataclass
class _Filters:
    """Document filters of a search: SQL conditions, or (once listed) the contracts passing them."""

    where: list[Any]
    listed: bool  # an index or a short facet list drives ``where``: listing the contracts is cheap
    allowed: list[int] | None = None

    def keep(self, conn: Connection, doc_ids: Iterable[int]) -> set[int]:
        """The given contracts that pass the filters."""
        if self.allowed is not None:
            return set(self.allowed).intersection(doc_ids)
        d = search_documents.c
        return set(conn.execute(select(d.doc_id).where(d.doc_id.in_(sorted(doc_ids)), *self.where)).scalars())

    def rowids(self, conn: Connection, expr: str, limit: int = -1) -> Any:
        """Rowids of the units matching the FTS5 query ``expr`` in contracts passing the filters, in order."""
        if self.allowed is not None:
            return conn.exec_driver_sql(_UNITS_IN, (expr, json.dumps(self.allowed), limit))
        if not self.where:
            return conn.exec_driver_sql(_UNITS, (expr, limit))
        f, d = search_fts, search_documents
        stmt = select(f.c.rowid).where(text("search_fts MATCH :q").bindparams(q=expr))
        stmt = stmt.join_from(f, d, d.c.doc_id == _doc_of(f.c.rowid)).where(*self.where)
        return conn.execute(stmt.order_by(f.c.rowid).limit(limit))


_UNITS = "SELECT rowid FROM search_fts WHERE search_fts MATCH ? ORDER BY rowid LIMIT ?"
_UNITS_IN = (
    "SELECT rowid FROM search_fts WHERE search_fts MATCH ? "
    f"AND rowid >> {SEQ_BITS} IN (SELECT value FROM json_each(?)) ORDER BY rowid LIMIT ?"
)


def _stream(conn: Connection, q: _Query, vis: Visibility, filters: _Filters, limit: int) -> dict[int, float]:
    """Top ``limit`` contracts class by class, each class read in rowid order until enough are found."""
    hits: dict[int, float] = {}
    for score, expr in q.classes(vis):
        result = filters.rowids(conn, expr)
        try:
            for (rowid,) in result:
                hits.setdefault(rowid >> SEQ_BITS, score)
                if len(hits) >= limit:
                    return hits
        finally:
            result.close()
    return hits


def _best(scores: dict[int, float], rowids: Iterable[int], factor: float) -> None:
    """Raise each contract's score to its best matching unit's (kind weight times ``factor``)."""
    for rowid in rowids:
        doc_id, score = rowid >> SEQ_BITS, factor * CODE_WEIGHTS[rowid & 3]
        scores[doc_id] = max(scores.get(doc_id, 0.0), score)


def _score_few(conn: Connection, q: _Query, vis: Visibility, filters: _Filters) -> dict[int, float] | None:
    """Scores of every matching contract passing the filters when at most :data:`FEW` units match."""
    scores: dict[int, float] = {}
    for expr, factor in ((q.any, 1.0), (q.all, 2.0)):
        if expr is not None:
            rowids = _Filters([], False).rowids(conn, q.visible(expr, vis), FEW + 1).scalars().all()
            if len(rowids) > FEW:
                return None
            _best(scores, rowids, factor)
    if filters.where and scores:
        kept = filters.keep(conn, scores)
        scores = {doc_id: score for doc_id, score in scores.items() if doc_id in kept}
    return scores


_CANDIDATE_UNITS = text(
    "SELECT search_fts.rowid FROM json_each(:ids) AS c CROSS JOIN search_fts "
    f"WHERE search_fts MATCH :q AND search_fts.rowid BETWEEN c.value << {SEQ_BITS} "
    f"AND (c.value << {SEQ_BITS}) + {(1 << SEQ_BITS) - 1}"
)


def _score_candidates(conn: Connection, q: _Query, vis: Visibility, ids: list[int]) -> dict[int, float]:
    """Scores of the candidate contracts matching ``q`` (each one's units looked up by rowid)."""
    scores: dict[int, float] = {}
    ids_json = json.dumps(ids)
    for expr, factor in ((q.any, 1.0), (q.all, 2.0)):
        if expr is not None:
            rows = conn.execute(_CANDIDATE_UNITS, {"ids": ids_json, "q": q.visible(expr, vis)})
            _best(scores, rows.scalars(), factor)
    return scores


def _ranked(scores: dict[int, float], limit: int) -> list[tuple[int, float]]:
    return sorted(scores.items(), key=lambda h: (-h[1], h[0]))[:limit]


def _fts_matches(
    conn: Connection, terms: list[str], vis: Visibility, filters: _Filters, limit: int
) -> list[tuple[int, float]]:
    """``[(doc_id, score)]``, best first (ties by doc_id), of the visible contracts matching ``terms``.

    Contracts are scored directly when the filters leave at most :data:`CANDIDATES` of them or at most
    :data:`FEW` units match; otherwise the classes are streamed until ``limit`` are found, the filters
    given to the FTS5 query as a list of contracts (up to :data:`LISTED`) or joined."""
    q = _compile(conn, terms)
    if q is None:
        return []
    if filters.where and filters.listed:
        d = search_documents.c
        ids = conn.execute(select(d.doc_id).where(*filters.where).limit(LISTED + 1)).scalars().all()
        if len(ids) <= CANDIDATES and q.lazy:
            return _ranked(_score_candidates(conn, q, vis, ids), limit)
        if len(ids) <= LISTED:
            filters.allowed = ids
    few = _score_few(conn, q, vis, filters)
    if few is not None:
        return _ranked(few, limit)
    return list(_stream(conn, q, vis, filters, limit).items())


def _like_matches(terms: list[str], vis: Visibility) -> Any:
    """A subquery ``(doc_id, score)`` over visible units matching any term (portable ``LIKE`` path)."""
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
        select(_doc_of(u.c.rowid).label("doc_id"), score.label("r")).where(_visible_unit(u, vis)).subquery()
    )
    return (
        select(inner.c.doc_id, func.sum(inner.c.r).label("score"))
        .where(inner.c.r > 0)
        .group_by(inner.c.doc_id)
        .subquery()
    )


def _facet_conditions(facet: str, values: Sequence[str], vis: Visibility) -> list[Any]:
    sf = search_facets
    cond = [sf.c.facet == facet, sf.c.value.in_(sorted(set(values)))]
    if vis.restricted:
        clean = and_(*_free_of(sf.c.labels, vis.restricted))
        shown = sf.c.part == "asset"
        if vis.mode == "redact":  # a redacted field shows only its restricted labels
            shown = or_(shown, sf.c.value.in_(sorted(vis.restricted)))
        cond.append(or_(shown, clean))
    return cond


def _facet_filters(conn: Connection, facets: list[list[Any]]) -> tuple[list[Any], bool]:
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
    out = []
    for n, i in sizes:
        if not out and n < FACET_CAP:
            out.append(doc_id.in_(select(sf.c.doc_id).where(*facets[i])))
        else:
            out.append(select(sf.c.doc_id).where(sf.c.doc_id == doc_id, *facets[i]).exists())
    return out, sizes[0][0] < FACET_CAP


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
        facets.append(_facet_conditions("class", [c.upper() for c in classification], vis))
    if tags:
        facets.append(_facet_conditions("tag", [t.lower() for t in tags], vis))
    where = _visible_document(vis)
    if owner:
        where.append(d.owner_lc == owner.lower())
    if domain:
        where.append(d.domain_lc == domain.lower())
    terms = terms_of(query)
    with store.connect() as conn:
        listed = bool(owner or domain)  # an index lists the filtered contracts
        if facets:
            facet_where, rare = _facet_filters(conn, facets)
            where, listed = where + facet_where, listed or rare
        if terms and _use_fts(conn):
            filters = _Filters(where, listed)
            rows = _summaries(conn, _fts_matches(conn, terms, vis, filters, limit)) if limit else []
        else:
            if terms:
                m = _like_matches(terms, vis)
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
