"""Quoting for generated SQL and YAML, per adapter: identifiers, string literals, and text dbt's Jinja
renders back verbatim. What the generated nodes are called is :mod:`dativo_ingest.dbt.node_names`."""

from __future__ import annotations

import json
import re
from typing import Any

_BARE = re.compile(r"[a-z_][a-z0-9_]*")
#: SQL words that must be quoted as column names on every adapter we generate for.
_RESERVED = frozenset(
    [
        "all",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "between",
        "both",
        "by",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "cross",
        "current_date",
        "current_time",
        "current_timestamp",
        "default",
        "desc",
        "distinct",
        "else",
        "end",
        "except",
        "exists",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "in",
        "inner",
        "intersect",
        "interval",
        "into",
        "is",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "natural",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "over",
        "partition",
        "primary",
        "references",
        "right",
        "rows",
        "select",
        "session_user",
        "some",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "values",
        "when",
        "where",
        "window",
        "with",
    ]
)
_QUOTE = {"bigquery": "`", "databricks": "`", "spark": "`"}
_BACKSLASH_ESCAPES = frozenset({"bigquery", "databricks", "spark"})


def needs_quoting(name: str) -> bool:
    return not _BARE.fullmatch(name) or name in _RESERVED


def quote(name: str, adapter: str = "duckdb") -> str:
    """``name`` as a SQL identifier: bare when safe, else quoted for ``adapter``."""
    if not needs_quoting(name):
        return name
    q = _QUOTE.get(adapter, '"')
    return f"{q}{name.replace(q, q + q)}{q}"


def escape_string(value: Any, adapter: str = "duckdb") -> str:
    """``value`` escaped to sit between single quotes in ``adapter``'s SQL.

    Standard SQL doubles a quote; Snowflake also reads backslash escapes; BigQuery, Databricks and Spark
    use backslash escapes only (``'a''b'`` is two adjacent literals there).
    """
    text = str(value)
    if adapter in _BACKSLASH_ESCAPES:
        return text.replace("\\", "\\\\").replace("'", "\\'")
    if adapter == "snowflake":
        text = text.replace("\\", "\\\\")
    return text.replace("'", "''")


_JINJA_OPENERS = ("{{", "{%", "{#")


def jinja_text(value: str) -> str:
    """``value`` as text dbt's Jinja renders back to exactly ``value`` (descriptions and test arguments
    are rendered, so contract text holding ``{{``, ``{%`` or ``{#`` would break the parse or run)."""
    if not any(opener in value for opener in _JINJA_OPENERS):
        return value
    if "endraw" not in value:
        return "{% raw %}" + value + "{% endraw %}"
    return "{{ " + json.dumps(value) + " }}"  # a Jinja string literal (JSON escapes are Jinja's too)


def sql_string(value: Any, adapter: str = "duckdb") -> str:
    """A SQL string literal for ``adapter``."""
    return "'" + escape_string(value, adapter) + "'"
