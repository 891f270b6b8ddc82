"""Where a column is used and what a condition bounds: a column in a filter, join, grouping, ordering or
window is a predicate use; a condition may set a lower bound (retention) or an equality to TRUE (consent).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

PREDICATE_NODES = (exp.Where, exp.Join, exp.Group, exp.Having, exp.Order, exp.Qualify, exp.Window)


def column_usage(column: exp.Column, scope: Scope) -> str:
    """``predicate`` in a filter, join, grouping, ordering or window, else ``projection``."""
    node = column.parent
    while node is not None and node is not scope.expression:
        if isinstance(node, PREDICATE_NODES):
            return "predicate"
        node = node.parent
    return "projection"


def bounds(node: exp.Expression | None, alias: str, column: str) -> tuple[bool, bool]:
    """(lower bound on ``alias.column`` found, equality-to-true on it found) in a condition."""
    lower = equal = False
    if node is None:
        return lower, equal

    def is_col(e: Any) -> bool:
        return (
            isinstance(e, exp.Column)
            and e.name.lower() == column.lower()
            and e.table.lower() == alias.lower()
        )

    for cmp in node.find_all(exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.EQ, exp.Is):
        lower_bound = (isinstance(cmp, (exp.GT, exp.GTE, exp.Between)) and is_col(cmp.this)) or (
            isinstance(cmp, (exp.LT, exp.LTE)) and is_col(cmp.expression)
        )
        if lower_bound:
            lower = True
        elif isinstance(cmp, (exp.EQ, exp.Is)) and (is_col(cmp.this) or is_col(cmp.expression)):
            other = cmp.expression if is_col(cmp.this) else cmp.this
            equal = equal or (isinstance(other, exp.Boolean) and other.this is True)
    return lower, equal
