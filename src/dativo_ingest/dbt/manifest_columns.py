"""Column lineage of one dbt model's SQL (sqlglot), given what is known of its upstream nodes' columns.

The SQL names each upstream by a plain table alias (``aliases``: alias -> dbt unique id). ``known`` holds
the complete column lists of upstreams (from ``catalog.json``, a seed's CSV header, a model's own lineage
computed earlier, an enforced contract); they are given to sqlglot as the schema, so ``select *`` over
them expands. A ``select *`` over an upstream whose columns are not known passes columns through by name:
``renamed as (select id as customer_id from source)`` over ``source as (select * from raw)`` reads
``raw.id``. Ephemeral models inlined by ``dbt compile`` (``__dbt__cte__<name>`` CTEs) are read as the
ephemeral node itself, whose lineage is computed on its own.

sqlglot's own log records (warnings about syntax it does not support, say) are sent to dativo's log at
DEBUG while it works (:func:`sqlglot_logs_to_debug`): they never reach the terminal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dativo_ingest.logging import get_logger

logger = get_logger(__name__)

EPHEMERAL_PREFIX = "__dbt__cte__"
_MAX_DEPTH = 50
_WRITTEN = "dativo_written"


@dataclass
class NodeLineage:
    """What one model's SQL reads and computes."""

    #: Output columns in order; None when a ``select *`` over an upstream of unknown columns reaches them.
    outputs: list[str] | None
    #: output column -> [(upstream id, upstream column)] it is computed from.
    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: upstream id -> columns read anywhere (None: unknown, every column may be read).
    reads: dict[str, list[str] | None] = field(default_factory=dict)


class _ToDebug(logging.Handler):
    """Re-logs another library's records on dativo's logger at DEBUG."""

    def emit(self, record: logging.LogRecord) -> None:
        logger.debug("%s: %s", record.name, record.getMessage())


@contextmanager
def sqlglot_logs_to_debug() -> Iterator[None]:
    """While inside, the ``sqlglot`` logger writes to dativo's log at DEBUG only (never to stderr)."""
    library = logging.getLogger("sqlglot")
    handler = _ToDebug()
    propagate = library.propagate
    library.addHandler(handler)
    library.propagate = False
    try:
        yield
    finally:
        library.removeHandler(handler)
        library.propagate = propagate


def _schema_type(value: str | None, dialect: str | None) -> str:
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    if value:
        try:
            exp.DataType.build(value, dialect=dialect)
            return value
        except (SqlglotError, ValueError):
            pass
    return "text"


def sql_lineage(
    text: str,
    aliases: Mapping[str, str],
    known: Mapping[str, Mapping[str, str | None]],
    upstreams: list[str],
    dialect: str | None,
    ephemeral: Mapping[str, str] | None = None,
) -> NodeLineage:
    """Lineage of ``text``; raises sqlglot's errors (or ValueError/KeyError) when it cannot be read.

    ``ephemeral``: inlined CTE name (``__dbt__cte__int_x``) -> alias of that ephemeral upstream.
    """
    from sqlglot import exp, parse_one
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope

    tree = parse_one(text, dialect=dialect)
    if ephemeral:
        _detach_ephemeral(tree, ephemeral)
    schema: dict[str, object] = {
        alias: {c: _schema_type(t, dialect) for c, t in known[uid].items()}
        for alias, uid in aliases.items()
        if known.get(uid)
    }
    for column in tree.find_all(exp.Column):
        column.meta[_WRITTEN] = True  # columns written in the SQL (not expanded from a select *)
    tree = qualify(
        tree, schema=schema, dialect=dialect, validate_qualify_columns=False, quote_identifiers=False
    )
    root = build_scope(tree)
    if root is None:
        raise ValueError("no select to read")
    tracer = _Tracer(dict(aliases), known)
    outputs = tracer.outputs(root)
    result = NodeLineage(outputs=outputs)
    if outputs is not None:
        result.columns = {name: sorted(tracer.trace(root, name)) for name in outputs}
    # A column is read when an output is computed from it, when a clause uses it (join, where, group
    # by, ...) or when the SQL names it (the query breaks without it); the columns a ``select *`` expands
    # to count only where something uses them.
    reads: dict[str, set[str]] = {u: set() for u in upstreams}
    for scope in root.traverse():
        select = scope.expression
        expanded: set[int] = set()
        if isinstance(select, exp.Select):
            expanded = {
                id(c) for p in select.expressions for c in p.find_all(exp.Column) if not c.meta.get(_WRITTEN)
            }
        for column in scope.columns:
            if id(column) in expanded:
                continue
            for uid, name in tracer.resolve(scope, column):
                reads.setdefault(uid, set()).add(name)
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and source.name in aliases:
                reads.setdefault(aliases[source.name], set())
    for pairs in result.columns.values():
        for uid, name in pairs:
            reads.setdefault(uid, set()).add(name)
    result.reads = {
        u: None if u in tracer.unresolved or u not in reads else sorted(reads[u]) for u in upstreams
    }
    return result


def _detach_ephemeral(tree: Any, ephemeral: Mapping[str, str]) -> None:
    """Drop the CTEs dbt inlined for ephemeral upstreams and read them as tables named by their alias."""
    from sqlglot import exp

    for cte in list(tree.find_all(exp.CTE)):
        if cte.alias in ephemeral:
            with_ = cte.parent
            cte.pop()
            if isinstance(with_, exp.With) and not with_.expressions:
                with_.pop()
    for table in tree.find_all(exp.Table):
        if table.name in ephemeral and not table.args.get("db"):
            table.set("this", exp.to_identifier(ephemeral[table.name]))


class _Tracer:
    """Follows output columns through a query's scopes down to the upstream tables."""

    def __init__(self, aliases: dict[str, str], known: Mapping[str, Mapping[str, str | None]]) -> None:
        self.aliases = aliases
        self.known = known
        #: upstreams behind a ``select *`` whose columns cannot be listed.
        self.unresolved: set[str] = set()

    def _source(self, scope: Any, table: str) -> Any:
        if table:
            return scope.sources.get(table)
        return next(iter(scope.sources.values())) if len(scope.sources) == 1 else None

    def resolve(self, scope: Any, column: Any, depth: int = 0) -> set[tuple[str, str]]:
        """The upstream columns a column reference in ``scope`` stands for."""
        from sqlglot import exp

        source = self._source(scope, column.table)
        if isinstance(source, exp.Table):
            return {(self.aliases[source.name], column.name)} if source.name in self.aliases else set()
        if source is not None:
            return self.trace(source, column.name, depth + 1)
        return set()

    def trace(self, scope: Any, name: str, depth: int = 0) -> set[tuple[str, str]]:
        """Upstream columns output ``name`` of ``scope`` is computed from."""
        from sqlglot import exp

        if depth > _MAX_DEPTH:
            return set()
        if scope.is_set_operation:
            return set().union(*(self.trace(s, name, depth + 1) for s in scope.union_scopes))
        select = scope.expression
        if not isinstance(select, exp.Select):
            return set()
        found: set[tuple[str, str]] = set()
        matched = False
        for projection in select.expressions:
            if _star_of(projection) is not None or projection.alias_or_name != name:
                continue
            matched = True
            for column in projection.find_all(exp.Column):
                found |= self.resolve(scope, column, depth)
        if matched:
            return found
        for projection in select.expressions:  # not projected by name: through a select * by name
            star = _star_of(projection)
            if star is None:
                continue
            sources = [scope.sources[star]] if star and star in scope.sources else scope.sources.values()
            for source in sources:
                if isinstance(source, exp.Table):
                    uid = self.aliases.get(source.name)
                    if uid is not None and (not self.known.get(uid) or name in self.known[uid]):
                        found.add((uid, name))
                else:
                    found |= self.trace(source, name, depth + 1)
        return found

    def outputs(self, scope: Any, depth: int = 0) -> list[str] | None:
        """Output columns of ``scope`` in order, ``select *`` expanded (None when it cannot be)."""
        from sqlglot import exp

        if depth > _MAX_DEPTH:
            return None
        if scope.is_set_operation:
            return self.outputs(scope.union_scopes[0], depth + 1) if scope.union_scopes else None
        select = scope.expression
        if not isinstance(select, exp.Select):
            return None
        names: list[str] = []
        complete = True
        for projection in select.expressions:
            star = _star_of(projection)
            if star is None:
                names.append(projection.alias_or_name)
                continue
            sources = [scope.sources[star]] if star and star in scope.sources else scope.sources.values()
            for source in sources:
                if isinstance(source, exp.Table):
                    uid = self.aliases.get(source.name)
                    if uid is not None and self.known.get(uid):
                        names.extend(self.known[uid])
                    else:
                        complete = False
                        if uid is not None:
                            self.unresolved.add(uid)
                else:
                    inner = self.outputs(source, depth + 1)
                    if inner is None:
                        complete = False
                    else:
                        names.extend(inner)
        return list(dict.fromkeys(names)) if complete else None


def _star_of(projection: Any) -> str | None:
    """``""`` for ``*``, the table for ``t.*``, None for any other projection."""
    from sqlglot import exp

    if isinstance(projection, exp.Star):
        return ""
    if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
        return str(projection.table or "")
    return None
