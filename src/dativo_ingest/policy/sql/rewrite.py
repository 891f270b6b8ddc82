"""Enforcement's rewrite of an analysed query: every stored table it reads is replaced by a governed
subquery that projects the declared columns only (restricted ones as ``NULL`` under their logical name, or
absent) and keeps only rows inside the retention window and of consenting users.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from dativo_ingest.dbt.quoting import needs_quoting
from dativo_ingest.policy.sql.governance import Governed, physical
from dativo_ingest.policy.sql.limits import SQLTooComplexError

#: table clauses kept on the stored table inside the governed subquery; those moved to the subquery
_INNER_ARGS = (
    "this",
    "db",
    "catalog",
    "hints",
    "system_time",
    "version",
    "when",
    "only",
    "partition",
    "changes",
)
_OUTER_ARGS = ("laterals", "joins", "pivots", "sample")


def rewrite(
    tree: exp.Expression,
    refs: list[tuple[exp.Table, str]],
    governed: dict[int, Governed],
    dialect: str | None,
) -> str:
    """``tree`` (changed in place) with each governed stored table read through its governed subquery."""
    try:
        replaced: list[tuple[exp.Table, exp.Subquery]] = []
        for table, kind in refs:
            gov = governed.get(id(table))
            if kind != "table" or gov is None:
                continue
            parts = [p.name.lower() for p in table.parts]
            if not table.args.get("alias"):
                _unqualify_columns(tree, parts)
            subquery = _governed_subquery(table, gov, dialect)
            replaced.append((table, subquery))
        for table, subquery in replaced:
            table.replace(subquery)
        return tree.sql(dialect=dialect)
    except RecursionError as exc:
        raise SQLTooComplexError("sql is too deeply nested to rewrite", field="sql") from exc


def _unqualify_columns(tree: exp.Expression, parts: list[str]) -> None:
    """``db.table.column`` names a table by its full name; the subquery is called ``table``."""
    if len(parts) < 2:
        return
    for column in tree.find_all(exp.Column):
        qualifier = [p.name.lower() for p in column.parts[:-1]]
        if len(qualifier) >= 2 and parts[-len(qualifier) :] == qualifier:
            column.set("db", None)
            column.set("catalog", None)


def _governed_subquery(table: exp.Table, gov: Governed, dialect: str | None) -> exp.Subquery:
    d = dialect
    projections: list[exp.Expression] = []
    for col in gov.order:
        if col.treatment == "show":
            projections.append(exp.Column(this=_ident(col.physical, d)))
        elif col.treatment == "redact":
            projections.append(exp.Alias(this=exp.Null(), alias=_ident(col.exposed, d)))
    if not projections:
        projections.append(exp.Alias(this=exp.Null(), alias=_ident("no_visible_columns", d)))
    inner_table = exp.Table(**{a: table.args[a].copy() for a in _INNER_ARGS if table.args.get(a)})
    inner = exp.select(*projections).from_(inner_table)
    conditions: list[exp.Expression] = []
    if gov.retention_days and gov.retention_column:
        now = exp.CurrentDate() if _is_date(gov) else exp.CurrentTimestamp()
        conditions.append(
            exp.GTE(
                this=exp.Column(this=_ident(gov.retention_column, d)),
                expression=exp.Sub(
                    this=now,
                    expression=exp.Interval(
                        this=exp.Literal.string(str(int(gov.retention_days))), unit=exp.var("DAY")
                    ),
                ),
            )
        )
    if gov.consent_required and gov.consent_column:
        conditions.append(exp.Column(this=_ident(gov.consent_column, d)).eq(exp.true()))
    if conditions:
        inner = inner.where(exp.and_(*conditions))
    alias = table.args.get("alias") or exp.TableAlias(this=table.this.copy())
    subquery = exp.Subquery(this=inner, alias=alias.copy())
    for a in _OUTER_ARGS:
        if table.args.get(a):
            subquery.set(a, table.args[a])
    return subquery


def _is_date(gov: Governed) -> bool:
    for f in gov.asset.fields:
        if physical(f) == gov.retention_column:
            return (f.type or "") == "date"
    return False


def _ident(name: str, dialect: str | None) -> exp.Identifier:
    """``name`` as an identifier for ``dialect``: unquoted when the dialect would read it back unchanged
    (lower-case names stay unquoted on Snowflake too, matching unquoted identifiers in the input)."""
    strategy = Dialect.get_or_raise(dialect).normalization_strategy
    quoted = needs_quoting(name.lower())
    if strategy == NormalizationStrategy.UPPERCASE:
        quoted = quoted or (name != name.lower() and name != name.upper())
    elif strategy in (NormalizationStrategy.LOWERCASE, NormalizationStrategy.CASE_SENSITIVE):
        quoted = quoted or name != name.lower()
    return exp.Identifier(this=name, quoted=quoted)
