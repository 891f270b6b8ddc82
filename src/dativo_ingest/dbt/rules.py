"""The contract's checks (:func:`~dativo_ingest.odcs.quality.contract_checks`) as dbt data tests to
render: neutral :class:`Rule` values (rendering is :mod:`dativo_ingest.dbt.datatests`).

Every check has a dbt test: not_null, unique, accepted_values and relationships are dbt's generic tests;
range, length, regex, forbidden values and row counts are dativo generic tests; table metrics
(``nullValues`` over a threshold, ...) and SQL rules are ``dativo_sql_rule`` tests whose query is compared
with the ODCS operators. A SQL rule names the checked table ``__model__``, which the generated test
replaces. Forms the check list could not read are passed on as :attr:`RuleSet.skipped` warnings.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.quality import (
    AcceptedValues,
    Check,
    ColumnMetric,
    ForbiddenValues,
    Length,
    NotNull,
    Pattern,
    Range,
    Relationship,
    RowCount,
    SqlCheck,
    Threshold,
    Unique,
    UniqueKey,
    contract_checks,
)

#: The neutral spelling of the checked table in a SQL rule (the generated test replaces it).
MODEL_PLACEHOLDER = "__model__"


@dataclass(frozen=True)
class Rule:
    """One data test: ``kind``, the column it checks (None for table-level), arguments and severity."""

    kind: str
    column: str | None = None
    args: tuple[tuple[str, Any], ...] = ()
    severity: str = "error"

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.args)

    @property
    def key(self) -> str:
        return json.dumps([self.kind, self.column, self.args, self.severity], sort_keys=True, default=str)


@dataclass
class RuleSet:
    """The rules of one contract, plus the check forms that could not become tests (and why)."""

    rules: list[Rule] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def for_column(self, name: str) -> list[Rule]:
        return [r for r in self.rules if r.column == name]

    def table_level(self) -> list[Rule]:
        return [r for r in self.rules if r.column is None]


def _args(**values: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((k, v) for k, v in values.items() if v is not None and v is not False)


def _rule(check: Check) -> Rule:
    """The dbt test of one check."""
    column, severity = check.column, check.severity
    if isinstance(check, (NotNull, Unique)):
        return Rule(check.kind, column, severity=severity)
    if isinstance(check, UniqueKey):
        return Rule("unique_key", None, _args(columns=check.columns), severity)
    if isinstance(check, (AcceptedValues, ForbiddenValues)):
        return Rule(check.kind, column, _args(values=check.values), severity)
    if isinstance(check, Relationship):
        return Rule("relationships", column, _args(to=check.to, field=check.field), severity)
    if isinstance(check, Range):
        bounds = _args(min=check.minimum, max=check.maximum)
        return Rule(
            "range",
            column,
            bounds + _args(min_exclusive=check.min_exclusive, max_exclusive=check.max_exclusive),
            severity,
        )
    if isinstance(check, Length):
        return Rule("length", column, _args(min=check.minimum, max=check.maximum), severity)
    if isinstance(check, Pattern):
        return Rule("regex", column, _args(pattern=check.pattern), severity)
    if isinstance(check, RowCount):
        count_bounds = _count_bounds(check.threshold)
        if count_bounds is not None:
            return Rule("row_count", None, _args(**count_bounds), severity)
        return Rule(
            "sql", None, _args(query=f"select count(*) from {MODEL_PLACEHOLDER}") + check.threshold, severity
        )
    if isinstance(check, ColumnMetric):
        columns = check.columns or ((check.column,) if check.column else ())
        metric = _args(
            metric=check.metric, columns=columns, unit=check.unit, values=check.values, pattern=check.pattern
        )
        return Rule("metric", None, metric + check.threshold, severity)
    if isinstance(check, SqlCheck):
        return Rule("sql", None, _args(query=check.query_for(MODEL_PLACEHOLDER)) + check.threshold, severity)
    raise TypeError(f"no dbt test for check kind {check.kind!r}")


def _count_bounds(threshold: Threshold) -> dict[str, int] | None:
    """A row-count threshold as inclusive whole-number bounds (None when it needs a condition)."""
    low: float | None = None
    high: float | None = None
    for op, value in threshold:
        if op == "mustBe":
            low = high = value
        elif op == "mustBeGreaterOrEqualTo":
            low = value
        elif op == "mustBeGreaterThan":
            low = math.floor(value) + 1
        elif op == "mustBeLessOrEqualTo":
            high = value
        elif op == "mustBeLessThan":
            high = math.ceil(value) - 1
        elif op == "mustBeBetween":
            low, high = value
        else:
            return None
    return {
        k: math.ceil(v) if k == "min" else math.floor(v)
        for k, v in (("min", low), ("max", high))
        if v is not None
    }


def contract_rules(asset: AssetDefinition) -> RuleSet:
    """Every test ``asset`` asks for on its primary object, deduplicated, in a stable order."""
    checks = contract_checks(asset)
    result = RuleSet(skipped=[f"{note.path}: {note.message}" for note in checks.unsupported])
    seen: set[str] = set()
    for check in checks:
        rule = _rule(check)
        if rule.key not in seen:
            seen.add(rule.key)
            result.rules.append(rule)
    return result
