"""Data tests a contract asks for, as neutral :class:`Rule` values (rendering happens elsewhere).

Sources, in order: field flags (``required`` -> not_null, ``unique`` / ``primary_key`` -> unique),
field ``logicalTypeOptions`` (minimum/maximum -> range, minLength/maxLength -> length, pattern ->
regex), field ODCS ``quality`` rules (nullCheck, duplicateCount, validValues, rowCount, sql), then
``data_quality.expectations`` (not_null, unique, accepted_values, relationships, range, length, regex,
row_count, sql). Duplicates are dropped; expectations on columns the schema does not declare are
reported as skipped rather than emitted (a test on a missing column cannot pass).

A SQL rule names the checked table with a placeholder: ``{object}``, ``{table}``, ``{model}`` (also with
a leading ``$``), or dbt's own ``{{ model }}`` / ``{{ this }}``; each is stored as ``__model__``, which the
generated test replaces. A query with any other placeholder (``{name}``, ``${name}``, other Jinja) is
skipped with a warning, since dbt could not run it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

GENERIC_KINDS = frozenset({"not_null", "unique", "accepted_values", "relationships"})
TABLE_KINDS = frozenset({"row_count", "sql"})
#: The neutral spelling of the checked table in a SQL rule (the generated test replaces it).
MODEL_PLACEHOLDER = "__model__"
_TABLE_PLACEHOLDER = re.compile(r"\{\{-?\s*(?:model|this)\s*-?\}\}|\$?\{(?:object|table|model)\}")
_OTHER_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\$\{[^{}]*\}|\{[A-Za-z_]\w*\}", re.S)


@dataclass(frozen=True)
class Rule:
    """One data test: ``kind``, the column it checks (None for table-level) and its arguments."""

    kind: str
    column: str | None = None
    args: tuple[tuple[str, Any], ...] = ()
    origin: str = ""

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.args)

    @property
    def key(self) -> str:
        return json.dumps([self.kind, self.column, self.args], sort_keys=True, default=str)


@dataclass
class RuleSet:
    """The rules of one contract, plus the expectations that could not become tests (and why)."""

    rules: list[Rule] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def for_column(self, name: str) -> list[Rule]:
        return [r for r in self.rules if r.column == name]

    def table_level(self) -> list[Rule]:
        return [r for r in self.rules if r.column is None]


def _args(**values: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((k, _freeze(v)) for k, v in values.items() if v is not None)


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def neutral_query(query: str) -> str:
    """The rule's query with its table placeholder spelled ``__model__`` and no trailing semicolon."""
    return _TABLE_PLACEHOLDER.sub(MODEL_PLACEHOLDER, query.strip().rstrip(";").rstrip())


def unknown_placeholders(query: str) -> list[str]:
    """Placeholders left in a neutral query (none is expected), in order of appearance."""
    return list(dict.fromkeys(m.group(0) for m in _OTHER_PLACEHOLDER.finditer(query)))


def _sql_rule(query: str, spec: dict[str, Any], origin: str) -> Rule:
    ops = {k: v for k, v in spec.items() if k.startswith("mustBe") or k.startswith("mustNotBe")}
    return Rule("sql", None, _args(query=neutral_query(str(query)), **ops), origin)


def _bounds(options: dict[str, Any], low: str, high: str) -> dict[str, Any]:
    out = {}
    if options.get(low) is not None:
        out["min"] = options[low]
    if options.get(high) is not None:
        out["max"] = options[high]
    return out


def _field_rules(field_obj: Any) -> list[Rule]:
    name = field_obj.name
    rules: list[Rule] = []
    if field_obj.required or field_obj.primary_key:
        rules.append(Rule("not_null", name, origin="required"))
    if field_obj.unique or field_obj.primary_key:
        rules.append(Rule("unique", name, origin="unique"))
    opts = field_obj.logical_type_options or {}
    if opts.get("minimum") is not None or opts.get("maximum") is not None:
        rules.append(Rule("range", name, _args(**_bounds(opts, "minimum", "maximum")), "logicalTypeOptions"))
    if opts.get("exclusiveMinimum") is not None or opts.get("exclusiveMaximum") is not None:
        bounds = _bounds(opts, "exclusiveMinimum", "exclusiveMaximum")
        rules.append(Rule("range", name, _args(**bounds, exclusive=True), "logicalTypeOptions"))
    if opts.get("minLength") is not None or opts.get("maxLength") is not None:
        rules.append(
            Rule("length", name, _args(**_bounds(opts, "minLength", "maxLength")), "logicalTypeOptions")
        )
    if opts.get("pattern"):
        rules.append(Rule("regex", name, _args(pattern=opts["pattern"]), "logicalTypeOptions"))
    for quality in field_obj.quality or []:
        rule = _quality_rule(quality, name)
        if rule is not None:
            rules.append(rule)
    return rules


def _quality_rule(quality: dict[str, Any], column: str | None) -> Rule | None:
    """An ODCS quality rule as a Rule (None when it is descriptive text or unsupported)."""
    kind = quality.get("rule") or quality.get("metric")
    zero = quality.get("mustBe") == 0
    if kind in ("nullCheck", "nullValues") and zero and column:
        return Rule("not_null", column, origin="quality")
    if kind in ("duplicateCount", "duplicateValues") and zero and column:
        return Rule("unique", column, origin="quality")
    if kind in ("validValues", "invalidValues") and column:
        values = quality.get("validValues") or (quality.get("arguments") or {}).get("validValues")
        if values:
            return Rule("accepted_values", column, _args(values=list(values)), "quality")
    if kind == "rowCount":
        low = quality.get("mustBeGreaterOrEqualTo", quality.get("mustBeGreaterThan"))
        high = quality.get("mustBeLessOrEqualTo", quality.get("mustBeLessThan"))
        if low is not None or high is not None:
            return Rule("row_count", None, _args(min=low, max=high), "quality")
    if quality.get("type") == "sql" and quality.get("query"):
        return _sql_rule(quality["query"], quality, "quality")
    return None


def _expectation_rule(expectation: Any) -> Rule | None:
    extra = dict(expectation.model_extra or {})
    kind, column = expectation.type, expectation.column
    if kind in ("not_null", "unique"):
        return Rule(kind, column, origin="expectation")
    if kind == "accepted_values" and expectation.values:
        return Rule(kind, column, _args(values=list(expectation.values)), "expectation")
    if kind == "relationships" and extra.get("to"):
        return Rule(kind, column, _args(to=extra["to"], field=extra.get("field") or column), "expectation")
    if kind in ("range", "length") and (extra.get("min") is not None or extra.get("max") is not None):
        return Rule(kind, column, _args(min=extra.get("min"), max=extra.get("max")), "expectation")
    if kind == "regex" and extra.get("pattern"):
        return Rule(kind, column, _args(pattern=extra["pattern"]), "expectation")
    if kind == "row_count" and (extra.get("min") is not None or extra.get("max") is not None):
        return Rule(kind, None, _args(min=extra.get("min"), max=extra.get("max")), "expectation")
    if kind in ("sql", "custom_sql") and extra.get("query"):
        return _sql_rule(extra["query"], extra, "expectation")
    return None


def contract_rules(asset: Any) -> RuleSet:
    """Every test ``asset`` asks for on its primary object, deduplicated, in a stable order."""
    result = RuleSet()
    seen: set[str] = set()
    columns = {f.name for f in asset.fields}

    def add(rule: Rule | None, where: str) -> None:
        if rule is None:
            result.skipped.append(f"{where}: not expressible as a dbt test")
            return
        if rule.column is not None and rule.column not in columns:
            result.skipped.append(f"{where}: column '{rule.column}' is not declared in the schema")
            return
        unknown = unknown_placeholders(rule.arguments["query"]) if rule.kind == "sql" else []
        if unknown:
            result.skipped.append(
                f"{where}: query has unrecognised placeholder(s) {', '.join(unknown)}; name the checked "
                "table with {object}, {table}, {model}, {{ model }} or {{ this }}"
            )
            return
        if rule.key not in seen:
            seen.add(rule.key)
            result.rules.append(rule)

    for f in asset.fields:
        for rule in _field_rules(f):
            add(rule, f"schema.{f.name}")
    obj = asset.primary_object
    for i, quality in enumerate(obj.quality if obj is not None else []):
        rule = _quality_rule(quality, None)
        if rule is not None:
            add(rule, f"schema.quality[{i}]")
    for i, expectation in enumerate(asset.expectations):
        if expectation.type in TABLE_KINDS:
            rule = _expectation_rule(expectation)
        else:
            rule = _expectation_rule(expectation) if expectation.column else None
        add(rule, f"data_quality.expectations[{i}] ({expectation.type})")
    return result
