"""The tables a query names: every table node classified as a stored table, a CTE visible at that point
of the query, a row generator or a table function, and the name to report it by.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

#: table functions that generate rows without reading stored data
SAFE_TABLE_FUNCTIONS = (exp.GenerateSeries, exp.ExplodingGenerateSeries)


def _normalized(ident: exp.Expression, dialect: str | None) -> str:
    """An identifier's name as the dialect resolves it (unquoted names folded, quoted ones kept)."""
    if not isinstance(ident, exp.Identifier):
        return ident.name
    return Dialect.get_or_raise(dialect).normalize_identifier(ident.copy()).name


def _visible_ctes(table: exp.Table, dialect: str | None) -> set[str]:
    """Names of the CTEs in scope where ``table`` appears (a CTE body sees only earlier CTEs of its
    WITH, itself too when RECURSIVE)."""
    names: set[str] = set()
    child: exp.Expr = table
    node = table.parent
    while node is not None:
        if isinstance(node, exp.With):
            ctes = list(node.expressions)
            index = next((i for i, c in enumerate(ctes) if c is child), len(ctes))
            visible = ctes if node.args.get("recursive") else ctes[:index]
            names.update(_normalized(c.args["alias"].this, dialect) for c in visible if c.args.get("alias"))
        else:
            with_ = node.args.get("with_") if isinstance(node, exp.Expression) else None
            if isinstance(with_, exp.With) and child is not with_:
                names.update(
                    _normalized(c.args["alias"].this, dialect)
                    for c in with_.expressions
                    if c.args.get("alias")
                )
        child, node = node, node.parent
    return names


def table_refs(tree: exp.Expression, dialect: str | None) -> list[tuple[exp.Table, str]]:
    """Every table node with its kind: ``table`` (reads a stored table), ``cte``, ``function`` (a table
    function or a dynamic identifier: refused) or ``generator`` (row generators that read nothing)."""
    out = []
    for table in tree.find_all(exp.Table):
        this = table.this
        if not isinstance(this, exp.Identifier):
            kind = "generator" if isinstance(this, SAFE_TABLE_FUNCTIONS) else "function"
        elif (
            not table.args.get("db")
            and not table.args.get("catalog")
            and _normalized(this, dialect) in _visible_ctes(table, dialect)
        ):
            kind = "cte"
        else:
            kind = "table"
        out.append((table, kind))
    return out


def table_name(table: exp.Table) -> str:
    """The table as findings name it: its dotted name, or the (truncated) SQL of a table function."""
    if not isinstance(table.this, exp.Identifier):
        return table.this.sql()[:80] if isinstance(table.this, exp.Expression) else str(table.this)
    return ".".join(p.name for p in table.parts)
