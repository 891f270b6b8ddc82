"""Staging model SQL: cast to contract types, mask restricted columns, apply retention and consent.

Declared columns (a contract choice, read from the ``compliance`` section):

- ``compliance.event_time_column``: the column whose age the retention filter checks; rows older than
  ``compliance.retention_days`` days are excluded
  (``where <col> >= {{ dbt.dateadd('day', -N, dbt.current_timestamp()) }}``).
- ``compliance.consent_column``: a boolean column; when ``compliance.user_consent_required`` is true,
  rows without consent (false or null) are excluded.

When retention or consent is required but its column is not declared, the SQL says so in a comment and
a warning is returned (an error with ``strict``). A declared column that is not in the schema is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dativo_ingest.dbt.columns import Column, plan_columns
from dativo_ingest.dbt.node_names import object_of
from dativo_ingest.dbt.options import GenerationOptions
from dativo_ingest.dbt.quoting import quote, sql_string
from dativo_ingest.dbt.types import string_type
from dativo_ingest.errors import DbtError
from dativo_ingest.odcs.model import AssetDefinition

_HASH = {
    "duckdb": "sha256({e})",
    "postgres": "encode(sha256(convert_to({e}, 'UTF8')), 'hex')",
    "snowflake": "sha2({e}, 256)",
    "bigquery": "to_hex(sha256({e}))",
    "databricks": "sha2({e}, 256)",
    "spark": "sha2({e}, 256)",
    "trino": "lower(to_hex(sha256(to_utf8({e}))))",
}


@dataclass
class StagingSQL:
    """The SQL text of a staging model and the warnings met while writing it."""

    sql: str
    warnings: list[str] = field(default_factory=list)


def _select_expr(column: Column, options: GenerationOptions) -> str:
    raw = quote(column.raw_name, options.adapter)
    cast = f"cast({raw} as {column.contract_type})"
    text = f"cast({raw} as {string_type(options.adapter)})"
    if column.masking == "hash":
        expr = _HASH[options.adapter].format(e=text)
    elif column.masking == "redact" and column.is_string:
        expr = (
            f"case when {raw} is null then null else {sql_string(options.redacted_text, options.adapter)} end"
        )
        expr = f"cast({expr} as {column.staged_type})"
    elif column.masking in ("redact", "null"):
        expr = f"cast(null as {column.staged_type})"
    else:
        expr = cast
    return f"{expr} as {quote(column.name, options.adapter)}"


def staging_sql(
    asset: AssetDefinition, options: GenerationOptions, *, source_name: str, head: str = ""
) -> StagingSQL:
    """The ``select`` of the staging model over ``source(source_name, <object>)``."""
    columns = plan_columns(asset, options)
    if not columns:
        raise DbtError(f"contract {asset.id or asset.name} declares no columns; cannot write a staging model")
    by_name = {c.name: c for c in columns}
    warnings: list[str] = []
    notes: list[str] = []
    filters: list[str] = []
    compliance = asset.compliance
    days = compliance.retention_days if compliance else None
    if days is not None:
        event = asset.compliance_column("event_time_column")
        if event is None:
            _missing(
                f"retention_days is {days} but compliance.event_time_column is not declared",
                options,
                warnings,
            )
            notes.append(f"retention ({days} days) NOT applied: no compliance.event_time_column declared")
        else:
            col = by_name[event]
            expr = f"cast({quote(col.raw_name, options.adapter)} as {col.contract_type})"
            filters.append(f"{expr} >= {{{{ dbt.dateadd('day', -{int(days)}, dbt.current_timestamp()) }}}}")
            notes.append(f"retention: rows older than {days} days on {event} are excluded")
    if compliance is not None and compliance.user_consent_required:
        consent = asset.compliance_column("consent_column")
        if consent is None:
            _missing(
                "user_consent_required is true but compliance.consent_column is not declared",
                options,
                warnings,
            )
            notes.append("consent filter NOT applied: no compliance.consent_column declared")
        else:
            col = by_name[consent]
            filters.append(f"cast({quote(col.raw_name, options.adapter)} as boolean) = true")
            notes.append(f"consent: rows without consent in {consent} are excluded")
    masked = [c for c in columns if c.masking]
    if masked:
        names = ", ".join(f"{c.name} ({c.classification}: {c.masking})" for c in masked)
        notes.append(f"masked: {names}")
    lines = [head.rstrip("\n")] if head else []
    lines += [f"-- {note}" for note in notes]
    lines.append("select")
    exprs = [_select_expr(c, options) for c in columns]
    lines += [f"    {e}," for e in exprs[:-1]] + [f"    {exprs[-1]}"]
    lines.append(f"from {{{{ source('{source_name}', '{object_of(asset)}') }}}}")
    for i, condition in enumerate(filters):
        lines.append(f"{'where' if i == 0 else '  and'} {condition}")
    return StagingSQL("\n".join(lines) + "\n", warnings)


def _missing(message: str, options: GenerationOptions, warnings: list[str]) -> None:
    if options.strict:
        raise DbtError(message)
    warnings.append(message)
