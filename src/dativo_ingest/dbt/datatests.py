"""Rendering :class:`~dativo_ingest.dbt.rules.Rule` values as dbt generic tests or singular test SQL.

Generic tests that ship with dbt-core (not_null, unique, accepted_values, relationships) go into YAML
with their arguments under ``arguments:``. Everything else (range, length, regex, row count, custom
SQL) becomes a singular test: a ``.sql`` file selecting the rows that break the rule, so no dbt package
is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dativo_ingest.dbt.columns import Column
from dativo_ingest.dbt.naming import quote, slug, sql_string
from dativo_ingest.dbt.rules import GENERIC_KINDS, Rule
from dativo_ingest.dbt.types import string_type
from dativo_ingest.errors import DbtError

#: Which generic tests stay true after masking (a hash keeps nulls and distinctness, a redaction nulls).
_SURVIVES_MASKING = {"hash": {"not_null", "unique"}, "redact": {"not_null"}, "null": set()}

_NOT_MATCHING = {
    "duckdb": "not regexp_matches({e}, {p})",
    "postgres": "not ({e} ~ {p})",
    "snowflake": "regexp_instr({e}, {p}) = 0",
    "bigquery": "not regexp_contains({e}, {p})",
    "databricks": "not ({e} rlike {p})",
    "spark": "not ({e} rlike {p})",
    "trino": "not regexp_like({e}, {p})",
}
_OPERATORS = {
    "mustBe": "=",
    "mustNotBe": "<>",
    "mustBeGreaterThan": ">",
    "mustBeGreaterOrEqualTo": ">=",
    "mustBeGreaterThanOrEqualTo": ">=",
    "mustBeLessThan": "<",
    "mustBeLessOrEqualTo": "<=",
    "mustBeLessThanOrEqualTo": "<=",
}
_PLACEHOLDERS = ("${object}", "{object}", "{table}", "{model}")


def generic_tests(
    rules: list[Rule], column: Column, *, resolve: Callable[[str], str], staged: bool
) -> list[Any]:
    """dbt generic test entries for ``column``; on a staged (masked) column only those masking keeps."""
    out: list[Any] = []
    for rule in rules:
        if rule.kind not in GENERIC_KINDS:
            continue
        if staged and column.masking and rule.kind not in _SURVIVES_MASKING[column.masking]:
            continue
        if rule.kind in ("not_null", "unique"):
            out.append(rule.kind)
        elif rule.kind == "accepted_values":
            values = list(rule.arguments["values"])
            args: dict[str, Any] = {"values": [str(v) for v in values] if column.is_string else values}
            if not column.is_string:
                args["quote"] = False
            out.append({"accepted_values": {"arguments": args}})
        else:
            args = {"to": resolve(str(rule.arguments["to"])), "field": rule.arguments["field"]}
            out.append({"relationships": {"arguments": args}})
    return out


def singular_tests(
    rules: list[Rule],
    columns: list[Column],
    *,
    model_relation: str,
    source_relation: str,
    adapter: str,
    prefix: str,
) -> dict[str, str]:
    """``{file stem: SQL}`` for rules no generic test covers; masked columns are checked on the source."""
    by_name = {c.name: c for c in columns}
    out: dict[str, str] = {}
    for rule in rules:
        if rule.kind in GENERIC_KINDS:
            continue
        column = by_name.get(rule.column or "")
        on_source = column is not None and column.masking is not None
        relation = source_relation if on_source else model_relation
        name_in_relation = (column.raw_name if on_source else column.name) if column else ""
        sql = _singular_sql(rule, relation, quote(name_in_relation, adapter) if column else "", adapter)
        stem = f"{prefix}__{slug(rule.column) + '__' if rule.column else ''}{rule.kind}"
        unique_stem, n = stem, 2
        while unique_stem in out:
            unique_stem, n = f"{stem}_{n}", n + 1
        out[unique_stem] = sql
    return out


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return sql_string(value)


def _singular_sql(rule: Rule, relation: str, column: str, adapter: str) -> str:
    args = rule.arguments
    if rule.kind in ("range", "length"):
        expr = column if rule.kind == "range" else f"length(cast({column} as {string_type(adapter)}))"
        low, high = ("<=", ">=") if args.get("exclusive") else ("<", ">")
        checks = []
        if args.get("min") is not None:
            checks.append(f"{expr} {low} {_literal(args['min'])}")
        if args.get("max") is not None:
            checks.append(f"{expr} {high} {_literal(args['max'])}")
        return f"select *\nfrom {relation}\nwhere {column} is not null\n  and ({' or '.join(checks)})\n"
    if rule.kind == "regex":
        text = f"cast({column} as {string_type(adapter)})"
        cond = _NOT_MATCHING[adapter].format(e=text, p=sql_string(args["pattern"]))
        return f"select *\nfrom {relation}\nwhere {column} is not null\n  and {cond}\n"
    if rule.kind == "row_count":
        checks = []
        if args.get("min") is not None:
            checks.append(f"row_count < {_literal(args['min'])}")
        if args.get("max") is not None:
            checks.append(f"row_count > {_literal(args['max'])}")
        return (
            f"select row_count\nfrom (select count(*) as row_count from {relation}) as counted\n"
            f"where {' or '.join(checks)}\n"
        )
    if rule.kind == "sql":
        return _custom_sql(args, relation, adapter)
    raise DbtError(f"no singular test for rule kind '{rule.kind}'")


def _custom_sql(args: dict[str, Any], relation: str, adapter: str) -> str:
    """A custom SQL rule: rows it returns fail, or with ``mustBe...`` its first value is compared."""
    query = str(args["query"]).strip().rstrip(";")
    for placeholder in _PLACEHOLDERS:
        query = query.replace(placeholder, relation)
    checks = []
    for key, op in _OPERATORS.items():
        if key in args:
            checks.append(f"check_value {op} {_literal(args[key])}")
    for key, negate in (("mustBeBetween", ""), ("mustNotBeBetween", "not ")):
        if key in args:
            low, high = list(args[key])[:2]
            checks.append(f"check_value {negate}between {_literal(low)} and {_literal(high)}")
    if not checks:
        return query + "\n"
    return (
        f"select check_value\nfrom (\n    select *\n    from ({query}) as rule_query\n"
        ") as checked(check_value)\n"
        f"where check_value is null or not ({' and '.join(checks)})\n"
    )
