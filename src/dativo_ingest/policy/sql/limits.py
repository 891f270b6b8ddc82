"""Parsing with limits: one statement, parsed by sqlglot, refused with :class:`SQLTooComplexError` when it
is too long, nests parentheses or queries too deeply, or has too many syntax nodes to analyse safely.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from dativo_ingest.errors import UsageError

MAX_SQL_CHARS = 100_000
MAX_NESTING = 64  # parentheses in the text, and subqueries in the tree
MAX_NODES = 20_000
MAX_DEPTH = 400  # syntax tree depth (a chain of 400 ANDs)


class SQLTooComplexError(UsageError):
    """The query is too large or too deeply nested to analyse safely (refused; HTTP 422)."""

    http_status = 422


def _nesting(sql: str) -> int:
    """The deepest parenthesis nesting outside string literals and quoted identifiers."""
    depth = deepest = 0
    quote: str | None = None
    for char in sql:
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


def _check_size(tree: exp.Expression) -> None:
    nodes = 0
    stack: list[tuple[exp.Expression, int, int]] = [(tree, 0, 0)]
    while stack:
        node, depth, queries = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise SQLTooComplexError(f"sql has more than {MAX_NODES} syntax nodes", field="sql")
        if depth > MAX_DEPTH:
            raise SQLTooComplexError(f"sql is nested deeper than {MAX_DEPTH} levels", field="sql")
        if isinstance(node, exp.Query):
            queries += 1
            if queries > MAX_NESTING:
                raise SQLTooComplexError(f"sql nests more than {MAX_NESTING} queries", field="sql")
        for child in node.iter_expressions():
            stack.append((child, depth + 1, queries))


def parse_statement(sql: str, dialect: str | None) -> exp.Expression:
    """The one statement in ``sql``, parsed for ``dialect`` within the limits above."""
    if not isinstance(sql, str) or not sql.strip():
        raise UsageError("sql must be a non-empty string", field="sql")
    if len(sql) > MAX_SQL_CHARS:
        raise SQLTooComplexError(f"sql is longer than {MAX_SQL_CHARS} characters", field="sql")
    if _nesting(sql) > MAX_NESTING:
        raise SQLTooComplexError(f"sql nests parentheses deeper than {MAX_NESTING} levels", field="sql")
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if isinstance(s, exp.Expression)]
    except RecursionError as exc:
        raise SQLTooComplexError("sql is too deeply nested to analyse", field="sql") from exc
    except ParseError as exc:
        first = exc.errors[0]["description"] if exc.errors else str(exc).splitlines()[0]
        raise UsageError(f"cannot parse SQL: {first}", field="sql") from exc
    except (SqlglotError, ValueError) as exc:
        raise UsageError(f"cannot parse SQL: {str(exc).splitlines()[0]}", field="sql") from exc
    if len(statements) != 1:
        raise UsageError(f"expected exactly one SQL statement, got {len(statements)}", field="sql")
    _check_size(statements[0])
    return statements[0]
