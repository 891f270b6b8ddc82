"""A contract's row checks as one singular dbt test: SQL selecting the rows of the raw source table that
break the contract (dbt fails the test when it returns any row).

Built from the contract's check list (:func:`dativo_ingest.odcs.quality.contract_checks`): a ``NotNull``
check selects the rows where its column ``is null``; a ``Unique`` check selects each value held by more
than one row. Only error-severity checks of top-level columns are included; a contract without any gives a
test that selects nothing. Each failing row names the check (``failed_check``) and the contract column
(``column_name``).
"""

from __future__ import annotations

from collections.abc import Callable

from dativo_ingest.dbt.columns import plan_columns
from dativo_ingest.dbt.node_names import object_of
from dativo_ingest.dbt.options import GenerationOptions
from dativo_ingest.dbt.quoting import quote, sql_string
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.quality import Check, NotNull, Unique, contract_checks

__all__ = ["schema_test_sql"]

RELATION = "contract_rows"


def _not_null(raw: str, label: str) -> str:
    return f"select {label} from {RELATION} where {raw} is null"


def _unique(raw: str, label: str) -> str:
    return f"select {label} from {RELATION} where {raw} is not null group by {raw} having count(*) > 1"


def _label(kind: str, column: str, adapter: str) -> str:
    return f"{sql_string(kind, adapter)} as failed_check, {sql_string(column, adapter)} as column_name"


#: How each check kind selects its failing rows (``raw``: the quoted column, ``label``: the row's names).
FAILING_ROWS: dict[type[Check], Callable[[str, str], str]] = {NotNull: _not_null, Unique: _unique}


def schema_test_sql(
    asset: AssetDefinition, options: GenerationOptions, *, source_name: str, head: str
) -> str:
    """The singular test's SQL for ``asset``'s primary object, read from source ``source_name``."""
    adapter = options.adapter
    raw_names = {c.name: c.raw_name for c in plan_columns(asset, options)}
    selects = []
    for check in contract_checks(asset):
        build = FAILING_ROWS.get(type(check))
        if build is None or check.severity != "error" or check.column not in raw_names:
            continue
        selects.append(
            build(quote(raw_names[check.column], adapter), _label(check.kind, check.column, adapter))
        )
    if not selects:
        selects = [f"select {_label('', '', adapter)} from {RELATION} where 1 = 0"]
    source = f"{{{{ source('{source_name}', '{object_of(asset)}') }}}}"  # as the staging model reads it
    body = "\nunion all\n".join(selects)
    return f"{head}with {RELATION} as (\n    select * from {source}\n)\n{body}\n"
