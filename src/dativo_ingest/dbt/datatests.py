"""Rendering :class:`~dativo_ingest.dbt.rules.Rule` values as dbt data tests.

not_null, unique, accepted_values and relationships use dbt-core's generic tests. Range, length, regex,
forbidden values, row count and custom SQL rules use dativo's own generic tests, defined in one project
file (``tests/generic/dativo_contract_tests.sql``, see :func:`data_test_definitions`) — no dbt package
needed, and every rule stays a named test on its column in YAML. Table metrics (a count or percentage of
null, missing, invalid or duplicate values against an ODCS threshold) are SQL rules built here for the
adapter. Arguments sit under ``arguments:``; a warning-severity check is a test with ``severity: warn``.

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
from dativo_ingest.dbt.rules import MODEL_PLACEHOLDER, Rule
from dativo_ingest.odcs.quality import OPERATORS

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


def _bounds(args: dict[str, Any]) -> dict[str, Any]:
    out = {k: args[s] for k, s in (("min_value", "min"), ("max_value", "max")) if args.get(s) is not None}
    for side in ("min_exclusive", "max_exclusive"):
        if args.get(side):
            out[side] = True
    return out


def _with_severity(entry: Any, rule: Rule) -> Any:
    """``entry`` with ``config: {severity: warn}`` when the check is a warning."""
    if rule.severity != "warning":
        return entry
    if isinstance(entry, str):
        return {entry: {"config": {"severity": "warn"}}}
    ((name, body),) = entry.items()
    return {name: {**body, "config": {"severity": "warn"}}}


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
        entry: Any = None
        if rule.kind in ("not_null", "unique"):
            entry = rule.kind
        elif rule.kind in ("accepted_values", "forbidden_values"):
            name = "accepted_values" if rule.kind == "accepted_values" else "dativo_forbidden_values"
            entry = {name: {"arguments": _accepted(list(args["values"]), column, adapter)}}
        elif rule.kind == "relationships":
            target = {"to": resolve(str(args["to"])), "field": quote(str(args["field"]), adapter)}
            entry = {"relationships": {"arguments": target}}
        elif rule.kind in ("range", "length"):
            entry = {f"dativo_{rule.kind}": {"arguments": _bounds(args)}}
        elif rule.kind == "regex":
            entry = {"dativo_regex": {"arguments": {"pattern": jinja_text(str(args["pattern"]))}}}
        if entry is not None:
            out.append(_with_severity(entry, rule))
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
        entry: Any = None
        if rule.kind == "row_count":
            entry = {"dativo_row_count": {"arguments": _bounds(args)}}
        elif rule.kind == "unique_key":
            entry = {
                "dativo_unique_key": {"arguments": {"columns": [quote(c, adapter) for c in args["columns"]]}}
            }
        elif rule.kind in ("sql", "metric"):
            query = str(args["query"]) if rule.kind == "sql" else jinja_text(metric_query(args, adapter))
            arguments = {"query": query}
            condition = _condition(args, adapter)
            if condition:
                arguments["condition"] = condition
            entry = {"dativo_sql_rule": {"arguments": arguments}}
        if entry is not None:
            out.append(_with_severity(entry, rule))
    return out


def metric_query(args: dict[str, Any], adapter: str) -> str:
    """The SQL measuring a table metric (a count, or a percentage of the rows) on ``__model__``."""
    columns = [quote(str(c), adapter) for c in args["columns"]]
    percent = args.get("unit") == "percent"
    if args["metric"] == "duplicate_values":
        present = " and ".join(f"{c} is not null" for c in columns)
        listed = ", ".join(columns)
        groups = f"(select count(*) as n from {MODEL_PLACEHOLDER} where {present} group by {listed}) as keyed"
        duplicates = f"(select coalesce(sum(n - 1), 0) from {groups})"
        if not percent:
            return f"select {duplicates}"
        return f"select coalesce(100.0 * {duplicates} / nullif(count(*), 0), 0) from {MODEL_PLACEHOLDER}"
    failing = _failing_predicate(args, columns[0], adapter)
    counted = f"sum(case when {failing} then 1 else 0 end)"
    if percent:
        return f"select coalesce(100.0 * {counted} / nullif(count(*), 0), 0) from {MODEL_PLACEHOLDER}"
    return f"select coalesce({counted}, 0) from {MODEL_PLACEHOLDER}"


def _failing_predicate(args: dict[str, Any], column: str, adapter: str) -> str:
    """The rows a null, missing or invalid values metric counts."""
    if args["metric"] == "null_values":
        return f"{column} is null"
    if args["metric"] == "missing_values":
        present = [v for v in args.get("values") or () if v is not None]
        listed = ", ".join(_plain_literal(v, adapter) for v in present)
        return f"({column} is null or {column} in ({listed}))" if present else f"{column} is null"
    checks = []
    if args.get("values") is not None:
        listed = ", ".join(_plain_literal(v, adapter) for v in args["values"] if v is not None)
        checks.append(f"{column} not in ({listed})" if listed else "true")
    if args.get("pattern"):
        text = f"cast({column} as varchar)"
        checks.append(_NOT_MATCHING[adapter].format(e=text, p=sql_string(args["pattern"], adapter)))
    return f"({column} is not null and ({' or '.join(checks)}))"


def _plain_literal(value: Any, adapter: str) -> str:
    """A SQL literal (the whole query is made Jinja-safe afterwards)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return sql_string(value, adapter)


def _literal(value: Any, adapter: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return jinja_text(sql_string(value, adapter))


def _condition(args: dict[str, Any], adapter: str) -> str:
    """The ODCS ``mustBe...`` operators as one SQL condition on ``check_value`` ("" when none)."""
    checks = []
    for key, op in OPERATORS.items():
        if key not in args:
            continue
        if key.endswith("Between"):
            low, high = (_literal(v, adapter) for v in list(args[key])[:2])
            checks.append(f"check_value {op} {low} and {high}")
        else:
            checks.append(f"check_value {op} {_literal(args[key], adapter)}")
    return " and ".join(checks)


_DEFINITIONS = """{% test dativo_range(model, column_name, min_value=none, max_value=none,
    min_exclusive=false, max_exclusive=false) %}
select * from {{ model }}
where {{ column_name }} is not null and (false
{%- if min_value is not none %}
    or {{ column_name }} {{ '<=' if min_exclusive else '<' }} {{ min_value }}
{%- endif %}
{%- if max_value is not none %}
    or {{ column_name }} {{ '>=' if max_exclusive else '>' }} {{ max_value }}
{%- endif %})
{% endtest %}

{% test dativo_unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key from {{ model }}
where {{ columns | join(' is not null and ') }} is not null
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{% test dativo_forbidden_values(model, column_name, values, quote=true) %}
select * from {{ model }}
where {{ column_name }} in (
{%- for value in values -%}
    {%- if quote %}'{{ value }}'{% else %}{{ value }}{% endif %}{% if not loop.last %}, {% endif %}
{%- endfor -%}
)
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


#: Jinja turning the ``pattern`` argument into a string literal (see quoting.escape_string).
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


def uses_definitions(document: object) -> bool:
    """True when a YAML document (or a list of them) refers to one of dativo's generic tests."""
    return "dativo_" in repr(document)
