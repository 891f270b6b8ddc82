"""CHECK constraints as contract checks, through sqlglot.

A constraint is split at its top-level ``AND``s; each part that says one thing about one column becomes
that column's check: ``col IN (...)`` (and PostgreSQL's rewritten ``col = ANY (ARRAY[...])``) ->
accepted values (``logicalTypeOptions.enum``); ``col >= 0``, ``col < 10``, ``col BETWEEN a AND b`` ->
a range (``minimum``/``maximum``);
``col IS NOT NULL`` -> required (a strict bound on a whole-number column as the inclusive one). The
parts that do not map are kept, joined by ``AND``, as an ODCS ``sql`` quality rule counting the rows
that break them, so nothing a database enforces is lost (splitting at ``AND`` keeps CHECK's meaning:
the whole is false exactly when one part is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

#: dativo types whose strict bounds have an inclusive equivalent.
WHOLE_NUMBERS = frozenset({"integer", "long"})
_LOWER: dict[Any, bool] = {exp.GT: True, exp.GTE: False}
_UPPER: dict[Any, bool] = {exp.LT: True, exp.LTE: False}
_FLIP: dict[Any, Any] = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}


@dataclass
class ColumnFacts:
    """What the CHECK constraints say about one column."""

    enum: list[Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    required: bool = False


@dataclass
class CheckFacts:
    """Per-column facts, and the constraints that did not map (as SQL rules)."""

    columns: dict[str, ColumnFacts] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)

    def of(self, column: str) -> ColumnFacts:
        return self.columns.setdefault(column, ColumnFacts())


def parse_check(text: str, dialect: str | None) -> exp.Expression | None:
    """A CHECK constraint's condition (its text, ``CHECK (...)`` or not), or None when it does not parse."""
    body = text.strip()
    if body.upper().startswith("CHECK"):
        body = body[5:].strip()
    try:
        parsed: Any = sqlglot.parse_one(body, dialect=dialect)
        return parsed if isinstance(parsed, exp.Expression) else None
    except SqlglotError:
        return None


def read_checks(
    checks: list[tuple[str | None, exp.Expression | None, str]],
    columns: dict[str, str | None],
    dialect: str | None,
) -> CheckFacts:
    """Facts from ``(name, parsed condition, text)`` constraints over a table with ``columns`` (name ->
    dativo type). A strict bound on a whole-number column becomes the inclusive one (``> 0``: minimum 1);
    on other columns, whose exclusive bounds ODCS versions spell differently, the constraint stays SQL."""
    facts = CheckFacts()
    for name, condition, text in checks:
        if condition is None:
            facts.rules.append(_sql_rule(name, text))
            continue
        parts = _conjuncts(condition)
        mapped = [_part(p, columns) for p in parts]
        rest = [p for p, m in zip(parts, mapped, strict=True) if m is None]
        if rest:
            facts.rules.append(_sql_rule(name, " AND ".join(p.sql(dialect=dialect) for p in rest)))
        for column, kind, value in (m for m in mapped if m is not None):
            target = facts.of(column)
            if kind == "enum":
                target.enum = value if target.enum is None else [v for v in target.enum if v in value]
            elif kind == "required":
                target.required = True
            else:
                target.options.update(value)
    return facts


def _sql_rule(name: str | None, condition: str) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "type": "sql",
        "query": f"SELECT COUNT(*) FROM {{object}} WHERE NOT ({condition})",
        "mustBe": 0,
        "description": f"CHECK constraint {name}" if name else "CHECK constraint",
    }
    if name:
        rule["name"] = name
    return rule


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    node = _unwrap(node)
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def _unwrap(node: Any) -> Any:
    while isinstance(node, (exp.Paren, exp.Cast)):
        node = node.this
    return node


def _column(node: Any, columns: dict[str, str | None]) -> str | None:
    node = _unwrap(node)
    if isinstance(node, exp.Column) and node.name in columns:
        return str(node.name)
    return None


def _literal(node: Any) -> tuple[bool, Any]:
    node = _unwrap(node)
    if isinstance(node, exp.Neg):
        ok, value = _literal(node.this)
        return (ok, -value) if ok and isinstance(value, int | float) else (False, None)
    if not isinstance(node, exp.Literal):
        return False, None
    if node.is_string:
        return True, node.name
    text = node.name
    try:
        return True, int(text)
    except ValueError:
        try:
            return True, float(text)
        except ValueError:
            return False, None


def _part(node: exp.Expression, columns: dict[str, str | None]) -> tuple[str, str, Any] | None:
    """``(column, kind, value)`` for a condition on one column that maps, else None."""
    if isinstance(node, exp.In) and not node.args.get("query"):
        column = _column(node.this, columns)
        values = [_literal(e) for e in node.expressions]
        if column and values and all(ok for ok, _ in values):
            return column, "enum", [v for _, v in values]
        return None
    if isinstance(node, exp.EQ) and isinstance(_unwrap(node.expression), exp.Any):
        column = _column(node.this, columns)
        array = _unwrap(_unwrap(node.expression).this)
        items = array.expressions if isinstance(array, exp.Array) else []
        values = [_literal(e) for e in items]
        if column and values and all(ok for ok, _ in values):
            return column, "enum", [v for _, v in values]
        return None
    if isinstance(node, exp.Between):
        column = _column(node.this, columns)
        (low_ok, low), (high_ok, high) = _literal(node.args["low"]), _literal(node.args["high"])
        if column and low_ok and high_ok and _numeric(low) and _numeric(high):
            return column, "range", {"minimum": low, "maximum": high}
        return None
    if isinstance(node, exp.Not) and isinstance(_unwrap(node.this), exp.Is):
        inner = _unwrap(node.this)
        column = _column(inner.this, columns)
        if column and isinstance(inner.expression, exp.Null):
            return column, "required", True
        return None
    kind: Any = type(node)
    if kind in _LOWER or kind in _UPPER:
        column, (ok, value) = _column(node.this, columns), _literal(node.expression)
        if column is None:  # ``0 <= col``: the literal on the left
            column, (ok, value) = _column(node.expression, columns), _literal(node.this)
            kind = _FLIP[kind]
        if column is None or not ok or not _numeric(value):
            return None
        strict = bool(_LOWER.get(kind, _UPPER.get(kind)))
        if strict and not (columns[column] in WHOLE_NUMBERS and isinstance(value, int)):
            return None
        if kind in _LOWER:
            return column, "range", {"minimum": value + 1 if strict else value}
        return column, "range", {"maximum": value - 1 if strict else value}
    return None


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
