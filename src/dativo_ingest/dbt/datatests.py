"""Rendering :class:`~dativo_ingest.dbt.rules.Rule` values as dbt data tests.

not_null, unique, accepted_values and relationships use dbt-core's generic tests. Range, length, regex,
row count and custom SQL rules use dativo's own generic tests, defined in one project file
(``tests/generic/dativo_contract_tests.sql``, see :func:`data_test_definitions`) — no dbt package needed,
and every rule stays a named test on its column in YAML. Arguments sit under ``arguments:``.

Masked columns: value tests (accepted values, regex, range, length, relationships) check raw values, so
they run on the dbt source, where the raw values are. On a staging column masked by the policy only the
tests masking keeps true are repeated (hash keeps not_null and unique, redact keeps not_null, null keeps
none); rewriting the others against masked values would test the masking, not the data. Each test kept
on the source only is reported as a generator warning (:func:`masked_tests`), never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dativo_ingest.dbt.columns import Column
from dativo_ingest.dbt.quoting import escape_string, jinja_text, quote, sql_string
from dativo_ingest.dbt.rules import Rule

BUILTIN_KINDS = frozenset({"not_null", "unique", "accepted_values", "relationships"})
COLUMN_KINDS = frozenset({"range", "length", "regex"})
#: Where the definitions of dativo's generic tests live in a project.
DEFINITIONS_PATH = "tests/generic/dativo_contract_tests.sql"

#: Which tests stay true after masking (a hash keeps nulls and distinctness, a redaction keeps nulls).
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


def _bounds(args: dict[str, Any]) -> dict[str, Any]:
    out = {k: args[s] for k, s in (("min_value", "min"), ("max_value", "max")) if args.get(s) is not None}
    if args.get("exclusive"):
        out["exclusive"] = True
    return out


def column_tests(
    rules: list[Rule], column: Column, *, resolve: Callable[[str], str], staged: bool, adapter: str = "duckdb"
) -> list[Any]:
    """Data test entries for ``column``; on a staged (masked) column only those masking keeps true.

    Values reach SQL through dbt's macros unescaped, so they are escaped here for ``adapter``: accepted
    string values (dbt quotes them), other accepted values as literals (``quote: false``), and the
    relationships ``field`` as an identifier.
    """
    out: list[Any] = []
    for rule in rules:
        if staged and column.masking and rule.kind not in _SURVIVES_MASKING[column.masking]:
            continue
        args = rule.arguments
        if rule.kind in ("not_null", "unique"):
            out.append(rule.kind)
        elif rule.kind == "accepted_values":
            out.append({"accepted_values": {"arguments": _accepted(list(args["values"]), column, adapter)}})
        elif rule.kind == "relationships":
            target = {"to": resolve(str(args["to"])), "field": quote(str(args["field"]), adapter)}
            out.append({"relationships": {"arguments": target}})
        elif rule.kind in ("range", "length"):
            out.append({f"dativo_{rule.kind}": {"arguments": _bounds(args)}})
        elif rule.kind == "regex":
            out.append({"dativo_regex": {"arguments": {"pattern": jinja_text(str(args["pattern"]))}}})
    return out


def _accepted(values: list[Any], column: Column, adapter: str) -> dict[str, Any]:
    """accepted_values arguments: escaped strings (dbt quotes them), else literals with ``quote: false``."""
    if column.is_string:
        return {"values": [jinja_text(escape_string(v, adapter)) for v in values]}
    return {"values": [_literal(v, adapter) if isinstance(v, str) else v for v in values], "quote": False}


def masked_tests(rules: list[Rule], column: Column) -> list[str]:
    """Kinds of ``column``'s tests its masking makes meaningless on the staged column (source only)."""
    if not column.masking:
        return []
    kept = _SURVIVES_MASKING[column.masking]
    return sorted({r.kind for r in rules if r.column == column.name and r.kind not in kept})


def table_tests(rules: list[Rule], adapter: str = "duckdb") -> list[Any]:
    """Model-level data tests: row counts and custom SQL rules."""
    out: list[Any] = []
    for rule in rules:
        args = rule.arguments
        if rule.kind == "row_count":
            out.append({"dativo_row_count": {"arguments": _bounds(args)}})
        elif rule.kind == "sql":
            arguments = {"query": str(args["query"])}
            condition = _condition(args, adapter)
            if condition:
                arguments["condition"] = condition
            out.append({"dativo_sql_rule": {"arguments": arguments}})
    return out


def _literal(value: Any, adapter: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return jinja_text(sql_string(value, adapter))


def _condition(args: dict[str, Any], adapter: str) -> str:
    """The ODCS ``mustBe...`` operators as one SQL condition on ``check_value`` ("" when none)."""
    checks = [
        f"check_value {op} {_literal(args[key], adapter)}" for key, op in _OPERATORS.items() if key in args
    ]
    for key, negate in (("mustBeBetween", ""), ("mustNotBeBetween", "not ")):
        if key in args:
            low, high = (_literal(v, adapter) for v in list(args[key])[:2])
            checks.append(f"check_value {negate}between {low} and {high}")
    return " and ".join(checks)


_DEFINITIONS = """{% test dativo_range(model, column_name, min_value=none, max_value=none, exclusive=false) %}
select * from {{ model }}
where {{ column_name }} is not null and (false
{%- if min_value is not none %}
    or {{ column_name }} {{ '<=' if exclusive else '<' }} {{ min_value }}
{%- endif %}
{%- if max_value is not none %}
    or {{ column_name }} {{ '>=' if exclusive else '>' }} {{ max_value }}
{%- endif %})
{% endtest %}

{% test dativo_length(model, column_name, min_value=none, max_value=none) %}
select * from {{ model }}
where {{ column_name }} is not null and (false
{%- if min_value is not none %}
    or length(cast({{ column_name }} as {{ dbt.type_string() }})) < {{ min_value }}
{%- endif %}
{%- if max_value is not none %}
    or length(cast({{ column_name }} as {{ dbt.type_string() }})) > {{ max_value }}
{%- endif %})
{% endtest %}

{% test dativo_regex(model, column_name, pattern) %}
select * from {{ model }}
where {{ column_name }} is not null
    and __NOT_MATCHING__
{% endtest %}

{% test dativo_row_count(model, min_value=none, max_value=none) %}
select row_count from (select count(*) as row_count from {{ model }}) as counted
where false
{%- if min_value is not none %} or row_count < {{ min_value }}{% endif %}
{%- if max_value is not none %} or row_count > {{ max_value }}{% endif %}
{% endtest %}

{% test dativo_sql_rule(model, query, condition=none) %}
{%- set rule_query = query | replace('__model__', model | string) %}
{%- if condition is none %}
{{ rule_query }}
{%- else %}
select check_value from (select * from ({{ rule_query }}) as rule_query) as checked(check_value)
where check_value is null or not ({{ condition }})
{%- endif %}
{% endtest %}
"""


#: Jinja turning the ``pattern`` argument into a string literal (see naming.escape_string).
_PATTERN_LITERAL = {
    "standard": """{{ "'" ~ pattern | replace("'", "''") ~ "'" }}""",
    "snowflake": """{{ "'" ~ pattern | replace("\\\\", "\\\\\\\\") | replace("'", "''") ~ "'" }}""",
    "backslash": """{{ "'" ~ pattern | replace("\\\\", "\\\\\\\\") | replace("'", "\\\\'") ~ "'" }}""",
}


def data_test_definitions(adapter: str) -> str:
    """The Jinja source of dativo's generic tests for ``adapter``."""
    text = "cast({{ column_name }} as {{ dbt.type_string() }})"
    style = "backslash" if adapter in ("bigquery", "databricks", "spark") else adapter
    pattern = _PATTERN_LITERAL.get(style, _PATTERN_LITERAL["standard"])
    return _DEFINITIONS.replace("__NOT_MATCHING__", _NOT_MATCHING[adapter].format(e=text, p=pattern))


def uses_definitions(document: dict[str, Any]) -> bool:
    """True when a YAML document refers to one of dativo's generic tests."""
    return "dativo_" in repr(document)
