"""Search index tables, their migrations, and the text-unit rowid layout (doc_id, sequence, kind)."""

from __future__ import annotations

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
    literal_column,
)

from dativo_ingest.store.database import create_tables, metadata, migration

SEQ_BITS = 20  # text-unit rowid = doc_id << SEQ_BITS | sequence number

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


def use_fts(conn: Connection) -> bool:
    """Whether text units live in the FTS5 table (SQLite) rather than the portable one."""
    return conn.dialect.name == "sqlite"


def units_table(conn: Connection) -> Table:
    """The table holding the text units on this database."""
    return search_fts if use_fts(conn) else search_units


def doc_of(rowid: Any) -> Any:
    """SQL: the contract (doc_id) of a text-unit rowid."""
    return rowid.op(">>")(literal_column(str(SEQ_BITS)))
