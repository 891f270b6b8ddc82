"""SQLite FTS5 text search: ranking classes read best first with early stop, direct scoring of few
matches or few candidates, and document filters listed or joined."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, select, text

from dativo_ingest.store.search.tables import CODE_WEIGHTS, SEQ_BITS, doc_of, search_documents, search_fts
from dativo_ingest.store.search.terms import fold
from dativo_ingest.store.search.visibility import Visibility, hidden_clause

MAX_EXPANSIONS = 16  # indexed words a query word may complete to before a prefix query is used
CANDIDATES = 50  # filtered searches with at most this many candidate contracts score them directly
FEW = 200  # searches matching at most this many units score them all directly
LISTED = 2000  # filtered contracts listed up to this many go to the FTS5 query as a list
KIND_WEIGHTS = {"asset": 9, "name": 4, "detail": 1}  # ranking classes, best first
KIND_TOKENS = {"asset": "passet", "name": "pname", "detail": "(pdetail OR pabout)"}


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
        return f"({query}){hidden_clause(vis)}"

    def classes(self, vis: Visibility) -> list[tuple[float, str]]:
        """``(score, FTS5 query)`` per ranking class, best first: the unit kind of the best match
        (asset names 9, field names 4, descriptions 1), doubled when one unit holds every word."""
        out = []
        for kind, weight in KIND_WEIGHTS.items():
            if self.all is not None:
                out.append((2.0 * weight, self.visible(self.all, vis, kind)))
            out.append((float(weight), self.visible(self.any, vis, kind)))
        return out


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
    words = [w for w in dict.fromkeys(fold(t) for t in terms) if w]
    found: dict[int, list[str]] = {i: [] for i, w in enumerate(words) if re.fullmatch(r"[^\W_]+", w)}
    if found:
        each = _COMPLETIONS.format(n=MAX_EXPANSIONS + 1)
        sql = " UNION ALL ".join(f"SELECT {i}, term FROM ({each})" for i in found)
        params = tuple(p for i in found for p in (words[i], words[i] + "\U0010ffff"))
        rows = cast("Iterable[tuple[int, str]]", conn.exec_driver_sql(sql, params))  # (index, completion)
        for i, term in rows:
            found[i].append(term)
    completions = {i: c for i, c in found.items() if len(c) <= MAX_EXPANSIONS}
    phrases = [_phrase(w, completions.get(i)) for i, w in enumerate(words)]
    if not phrases:
        return None
    all_words = " AND ".join(phrases) if len(phrases) > 1 else None
    return _Query(" OR ".join(phrases), all_words, lazy=len(completions) == len(words))


@dataclass
class Filters:
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
        stmt = stmt.join_from(f, d, d.c.doc_id == doc_of(f.c.rowid)).where(*self.where)
        return conn.execute(stmt.order_by(f.c.rowid).limit(limit))


_UNITS = "SELECT rowid FROM search_fts WHERE search_fts MATCH ? ORDER BY rowid LIMIT ?"
_UNITS_IN = (
    "SELECT rowid FROM search_fts WHERE search_fts MATCH ? "
    f"AND rowid >> {SEQ_BITS} IN (SELECT value FROM json_each(?)) ORDER BY rowid LIMIT ?"
)


def _stream(conn: Connection, q: _Query, vis: Visibility, filters: Filters, limit: int) -> dict[int, float]:
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


def _score_few(conn: Connection, q: _Query, vis: Visibility, filters: Filters) -> dict[int, float] | None:
    """Scores of every matching contract passing the filters when at most :data:`FEW` units match."""
    scores: dict[int, float] = {}
    for expr, factor in ((q.any, 1.0), (q.all, 2.0)):
        if expr is not None:
            rowids = Filters([], False).rowids(conn, q.visible(expr, vis), FEW + 1).scalars().all()
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


def fts_matches(
    conn: Connection, terms: list[str], vis: Visibility, filters: Filters, limit: int
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
        query = select(d.doc_id).where(*filters.where).limit(LISTED + 1)
        ids: list[int] = list(conn.execute(query).scalars().all())
        if len(ids) <= CANDIDATES and q.lazy:
            return _ranked(_score_candidates(conn, q, vis, ids), limit)
        if len(ids) <= LISTED:
            filters.allowed = ids
    few = _score_few(conn, q, vis, filters)
    if few is not None:
        return _ranked(few, limit)
    return list(_stream(conn, q, vis, filters, limit).items())
