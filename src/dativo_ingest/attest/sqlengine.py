"""The contract's checks compiled to SQL (sqlglot, per dialect) and run inside PostgreSQL or MySQL.

One aggregate query scans the table once for every row-level check (``SUM(CASE WHEN <fails> THEN 1
ELSE 0 END)`` each; null, missing and invalid value metrics alike). Uniqueness (columns, composite keys,
``duplicateValues`` metrics) is one ``GROUP BY ... HAVING COUNT(*) > 1`` each; relationships an anti-join
(``NOT EXISTS``); SQL rules run as written with the table put in. Rows leave the database only as a
bounded sample of failing rows per failing check (``LIMIT n``). ``--filter`` is a SQL predicate in the
server's dialect, parsed by sqlglot (a query or anything else that is not an expression is refused) and
added to every statement but the SQL rules', which say themselves what they read.

Semantics match ingestion: nulls pass every check but ``not_null``; a repeated value fails ``unique``
once for every row after its first. On MySQL/MariaDB text is compared as binary (``CAST(x AS BINARY)``)
and patterns carry ``(?-i)``, so a case-insensitive collation does not make ``'A'`` equal ``'a'``.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError
from sqlglot import exp
from sqlglot.dialects.mysql import MySQL

from dativo_ingest.attest.results import (
    SKIPPED,
    CheckResult,
    measured,
    metric_result,
    outcome,
)
from dativo_ingest.attest.servers import Server
from dativo_ingest.errors import SourceError, UsageError
from dativo_ingest.logging import redact_text
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
    Unique,
    UniqueKey,
)
from dativo_ingest.odcs.types import NUMERIC_TYPES

_TEXT_TYPES = frozenset({"string", "text", "varchar", "char"})


class _MySQLText(MySQL):
    """MySQL and MariaDB: ``x REGEXP p`` (MariaDB has no ``REGEXP_LIKE``)."""

    class Generator(MySQL.Generator):  # type: ignore[valid-type,misc]
        TRANSFORMS = {
            **MySQL.Generator.TRANSFORMS,
            exp.RegexpLike: lambda self, e: f"{self.sql(e, 'this')} REGEXP {self.sql(e, 'expression')}",
        }


DIALECTS: dict[str, Any] = {"postgres": "postgres", "mysql": _MySQLText}
# Every session is read only: a filter or SQL rule that calls a writing function cannot change the data.
READ_ONLY: dict[str, dict[str, str]] = {
    "postgres": {"options": "-c default_transaction_read_only=on"},
    "mysql": {"init_command": "SET SESSION TRANSACTION READ ONLY"},
}


@dataclass
class SqlRun:
    """What the database answered."""

    rows_checked: int
    results: list[CheckResult]
    warnings: list[str]
    statements: int


def parse_filter(text: str | None, dialect: str) -> exp.Expr | None:
    """``--filter`` as one sqlglot predicate in ``dialect``, or a UsageError naming what is wrong:
    exactly one expression that is a condition (no statement, no subquery, no second statement)."""
    if text is None or not text.strip():
        return None
    try:
        statements = [s for s in sqlglot.parse(text, read=DIALECTS.get(dialect, dialect)) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"--filter {text!r} does not parse as a {dialect} predicate: {first}") from None
    if len(statements) != 1:
        raise UsageError(
            f"--filter {text!r} must be one predicate (a WHERE condition), not several statements"
        )
    parsed = statements[0]
    if not isinstance(parsed, exp.Condition) or parsed.find(exp.Query, exp.Command, exp.DDL, exp.DML):
        raise UsageError(f"--filter {text!r} must be a predicate (a WHERE condition), not a statement")
    return parsed


class _Compiler:
    """sqlglot expressions for one table of one server."""

    def __init__(self, server: Server, asset: AssetDefinition, where: exp.Expr | None) -> None:
        self.dialect = server.kind
        self.table = exp.table_(server.table, db=server.schema, quoted=True)
        self.where = where
        self.physical = {f.name: f.physical_name or f.name for f in asset.fields}
        self.types = {f.name: (f.type or "").lower() for f in asset.fields}

    def sql(self, node: exp.Expr) -> str:
        return node.sql(dialect=DIALECTS[self.dialect])

    def col(self, name: str) -> exp.Column:
        return exp.column(self.physical.get(name, name), quoted=True)

    def compared(self, name: str) -> exp.Expr:
        """The column as compared with text values (binary on MySQL, so case and trailing spaces count)."""
        column = self.col(name)
        if self.dialect == "mysql" and self.types.get(name) in _TEXT_TYPES:
            return exp.cast(column, exp.DataType.build("binary", dialect="mysql"))
        return column

    def text(self, name: str) -> exp.Expr:
        column = self.col(name)
        if self.types.get(name) in _TEXT_TYPES:
            return column
        return exp.cast(column, "text")

    def regex(self, name: str, pattern: str) -> exp.Expr:
        if self.dialect == "mysql":
            pattern = "(?-i)" + pattern
        return exp.RegexpLike(this=self.text(name), expression=exp.Literal.string(pattern))

    def literal(self, name: str, value: Any) -> exp.Expr:
        if self.types.get(name) in NUMERIC_TYPES or isinstance(value, bool):
            return exp.convert(value)
        return exp.convert(value if isinstance(value, (int, float)) else str(value))

    def values(self, name: str, values: tuple[Any, ...]) -> list[exp.Expr]:
        return [self.literal(name, v) for v in values if v is not None]

    def failing(self, check: Check) -> exp.Expr | None:
        """The predicate that is true on a row failing ``check`` (None: not a row-level predicate)."""
        name = check.column
        if name is None:
            return None
        col = self.col(name)
        present = exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null()))
        if isinstance(check, NotNull):
            return exp.Is(this=col, expression=exp.Null())
        if isinstance(check, AcceptedValues):
            allowed = self.values(name, check.values)
            if not allowed:
                return present
            inside = exp.In(this=self.compared(name), expressions=allowed)
            return exp.and_(present, exp.Not(this=inside))
        if isinstance(check, ForbiddenValues):
            banned = self.values(name, check.values)
            return exp.In(this=self.compared(name), expressions=banned) if banned else exp.false()
        if isinstance(check, Pattern):
            return exp.and_(present, exp.Not(this=self.regex(name, check.pattern)))
        if isinstance(check, Range):
            parts: list[exp.Expr] = []
            if check.minimum is not None:
                low = self.literal(name, check.minimum)
                parts.append(
                    exp.LTE(this=col.copy(), expression=low)
                    if check.min_exclusive
                    else exp.LT(this=col.copy(), expression=low)
                )
            if check.maximum is not None:
                high = self.literal(name, check.maximum)
                parts.append(
                    exp.GTE(this=col.copy(), expression=high)
                    if check.max_exclusive
                    else exp.GT(this=col.copy(), expression=high)
                )
            return exp.or_(*parts) if parts else exp.false()
        if isinstance(check, Length):
            length = exp.Length(this=self.text(name))
            parts = []
            if check.minimum is not None:
                parts.append(exp.LT(this=length.copy(), expression=exp.convert(check.minimum)))
            if check.maximum is not None:
                parts.append(exp.GT(this=length.copy(), expression=exp.convert(check.maximum)))
            return exp.or_(*parts) if parts else exp.false()
        if isinstance(check, ColumnMetric) and check.metric != "duplicate_values":
            if check.metric == "null_values":
                return exp.Is(this=col, expression=exp.Null())
            if check.metric == "missing_values":
                missing = self.values(name, check.values or ())
                null = exp.Is(this=col, expression=exp.Null())
                return (
                    exp.or_(null, exp.In(this=self.compared(name), expressions=missing)) if missing else null
                )
            tests: list[exp.Expr] = []
            if check.values:
                tests.append(
                    exp.Not(
                        this=exp.In(this=self.compared(name), expressions=self.values(name, check.values))
                    )
                )
            if check.pattern:
                tests.append(exp.Not(this=self.regex(name, check.pattern)))
            return exp.and_(present, exp.or_(*tests)) if tests else exp.false()
        return None

    def filtered(self, *conditions: exp.Expr | None) -> exp.Expr | None:
        parts = [
            c for c in (self.where.copy() if self.where is not None else None, *conditions) if c is not None
        ]
        return exp.and_(*parts) if parts else None

    def select_rows(self, columns: list[str], condition: exp.Expr | None, limit: int) -> str:
        query = exp.select(*(self.col(c) for c in columns)).from_(self.table.copy())
        where = self.filtered(condition)
        if where is not None:
            query = query.where(where)
        return self.sql(query.limit(limit))

    def aggregate(self, predicates: list[exp.Expr]) -> str:
        sums = [
            exp.alias_(
                exp.Coalesce(
                    this=exp.func("SUM", exp.case().when(p, exp.convert(1)).else_(exp.convert(0))),
                    expressions=[exp.convert(0)],
                ),
                f"c{i}",
            )
            for i, p in enumerate(predicates)
        ]
        query = exp.select(exp.alias_(exp.Count(this=exp.Star()), "n"), *sums).from_(self.table.copy())
        where = self.filtered()
        return self.sql(query.where(where) if where is not None else query)

    def key_expressions(self, columns: tuple[str, ...]) -> list[exp.Expr]:
        return [self.compared(c) for c in columns]

    def duplicates(self, columns: tuple[str, ...], limit: int) -> str:
        """One GROUP BY over ``columns`` (rows with a null part take no part): up to ``limit`` repeated
        keys, each row also carrying the totals ``(repeated rows, repeated values)`` as window sums."""
        present = [exp.Not(this=exp.Is(this=self.col(c), expression=exp.Null())) for c in columns]
        keys = [exp.alias_(e, f"v{i}") for i, e in enumerate(self.key_expressions(columns))]
        inner = (
            exp.select(*keys, exp.alias_(exp.Count(this=exp.Star()), "k"))
            .from_(self.table.copy())
            .group_by(*self.key_expressions(columns))
            .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.convert(1)))
        )
        where = self.filtered(*present)
        if where is not None:
            inner = inner.where(where)
        k = exp.column("k", table="d")
        everything = exp.Window(this=exp.func("SUM", exp.Sub(this=k, expression=exp.convert(1))))
        count = exp.Window(this=exp.Count(this=exp.Star()))
        outer = exp.select(
            *(exp.column(f"v{i}", table="d") for i in range(len(columns))), everything, count
        ).from_(inner.subquery("d"))
        return self.sql(outer.limit(max(1, limit)))

    def rows_with_keys(
        self, columns_out: list[str], key: tuple[str, ...], values: list[tuple], limit: int
    ) -> str:
        """A sample of the rows whose key is one of ``values`` (repeated keys found by :meth:`duplicates`)."""
        parts = self.key_expressions(key)
        matches = [
            exp.and_(
                *(exp.EQ(this=p.copy(), expression=_literal(v)) for p, v in zip(parts, row, strict=True))
            )
            for row in values
        ]
        return self.select_rows(columns_out, exp.or_(*matches), limit)

    def orphans(self, check: Relationship, sample: list[str] | None, limit: int) -> str:
        other_schema, other_table = _other_table(check.to, self.table)
        other = exp.table_(other_table, db=other_schema, quoted=True)
        name = check.column or ""
        mine = exp.column(self.physical.get(name, name), table="s", quoted=True)
        theirs = exp.column(check.field or name, table="o", quoted=True)
        exists = exp.Exists(
            this=exp.select(exp.convert(1))
            .from_(exp.alias_(other, "o", table=True))
            .where(exp.EQ(this=theirs, expression=mine.copy()))
        )
        condition = exp.and_(
            exp.Not(this=exp.Is(this=mine.copy(), expression=exp.Null())), exp.Not(this=exists)
        )
        where = condition if self.where is None else exp.and_(_qualify(self.where.copy(), "s"), condition)
        source = exp.alias_(self.table.copy(), "s", table=True)
        if sample is None:
            return self.sql(exp.select(exp.Count(this=exp.Star())).from_(source).where(where))
        cols = [exp.column(self.physical.get(c, c), table="s", quoted=True) for c in sample]
        return self.sql(exp.select(*cols).from_(source).where(where).limit(limit))

    def table_sql(self) -> str:
        return self.sql(self.table.copy())


def _literal(value: Any) -> exp.Expr:
    """A value the database returned, as a literal (MySQL's binary keys as text)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8", "replace")
    if value is None or isinstance(value, (bool, int, float, str)):
        return exp.convert(value)
    return exp.convert(str(value))


def _qualify(node: exp.Expr, alias: str) -> exp.Expr:
    for column in node.find_all(exp.Column):
        if not column.table:
            column.set("table", exp.to_identifier(alias))
    return node


_REF = re.compile(r"""^\s*(?:ref|source)\s*\((.*)\)\s*$""")


def _other_table(to: str, mine: exp.Table) -> tuple[str | None, str]:
    """The table a relationship points at: ``orders``, ``sales.orders`` or dbt's ``ref('orders')``."""
    text = to.strip()
    match = _REF.match(text)
    if match:
        text = match.group(1).split(",")[-1].strip().strip("'\"")
    parts = text.split(".")
    if len(parts) >= 2:
        return parts[-2], parts[-1]
    return (mine.db or None), parts[0]


def connect_error(server: Server, exc: BaseException) -> SourceError:
    detail = (
        str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if str(exc).strip()
        else type(exc).__name__
    )
    return SourceError(f"{server.describe()}: cannot connect: {redact_text(detail)}")


def run_sql(
    server: Server,
    asset: AssetDefinition,
    checks: list[tuple[str, Check]],
    where_text: str | None,
    sample: int,
) -> SqlRun:
    """Run ``checks`` (``(id, check)``) on the server's table; errors are one line naming server/table."""
    where = parse_filter(where_text, server.kind)
    compiler = _Compiler(server, asset, where)
    args: dict[str, Any] = {"connect_timeout": 10, **READ_ONLY[server.kind]}
    try:
        engine = create_engine(server.url or "", connect_args=args, pool_pre_ping=False)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise connect_error(server, exc) from None
    try:
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            raise connect_error(server, exc) from None
        with conn:
            return _Run(conn, server, asset, compiler, sample).run(checks)
    finally:
        engine.dispose()


class _Run:
    def __init__(
        self, conn: Connection, server: Server, asset: AssetDefinition, compiler: _Compiler, sample: int
    ) -> None:
        self.conn = conn
        self.server = server
        self.asset = asset
        self.c = compiler
        self.sample = sample
        self.statements = 0
        self.warnings: list[str] = []

    def execute(self, sql: str, what: str) -> list[tuple[Any, ...]]:
        self.statements += 1
        try:
            return [tuple(row) for row in self.conn.exec_driver_sql(_escape(sql)).fetchall()]
        except SQLAlchemyError as exc:
            self.conn.rollback()
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise SourceError(f"{self.server.describe()}: {what} failed: {redact_text(detail)}") from None

    def rows(self, sql: str, columns: list[str], what: str) -> list[dict[str, Any]]:
        return [dict(zip(columns, row, strict=False)) for row in self.execute(sql, what)]

    def run(self, checks: list[tuple[str, Check]]) -> SqlRun:
        present = self._columns()
        logical = {f.physical_name or f.name: f.name for f in self.asset.fields}
        missing = [f.name for f in self.asset.fields if (f.physical_name or f.name).lower() not in present]
        extra = sorted(set(present) - {k.lower() for k in logical})
        if extra:
            self.warnings.append(
                f"{self.server.describe()}: columns not in the contract: {', '.join(extra)} (not checked)"
            )
        if missing:
            self.warnings.append(
                f"{self.server.describe()}: contract columns missing from the table: {', '.join(missing)}"
            )
        columns = [f.name for f in self.asset.fields if f.name not in missing]
        results: dict[str, CheckResult] = {}
        row_checks: list[tuple[str, Check, exp.Expr]] = []
        for cid, check in checks:
            needs = _columns_of(check)
            lacking = [n for n in needs if n in missing]
            if lacking:
                # a dropped column is a broken contract, never a skipped (passing) check
                results[cid] = CheckResult(
                    cid,
                    check.kind,
                    check.column,
                    check.severity,
                    outcome(check, True),
                    reason=f"column {', '.join(lacking)} is not in the table",
                    written_at=check.origin.path,
                )
                continue
            predicate = self.c.failing(check)
            if predicate is not None:
                row_checks.append((cid, check, predicate))
        row_ids = {cid for cid, _, _ in row_checks}
        deferred = [
            (cid, check)
            for cid, check in checks
            if cid not in results and cid not in row_ids and not isinstance(check, RowCount)
        ]
        # the GROUP BYs, anti-joins and SQL rules run on a second connection while the scan runs
        with ThreadPoolExecutor(max_workers=1) as pool:
            others = pool.submit(self._on_own_connection, deferred, columns) if deferred else None
            counts = self.execute(
                self.c.aggregate([p for _, _, p in row_checks]), f"scan of {self.server.qualified_table}"
            )[0]
            total = int(counts[0])
            for (cid, check, predicate), failed in zip(row_checks, counts[1:], strict=True):
                failed = int(failed or 0)
                if isinstance(check, ColumnMetric):
                    results[cid] = metric_result(cid, check, failed, total)
                    continue
                result = _result(cid, check, total, failed)
                if failed and self.sample:
                    result.examples = self.rows(
                        self.c.select_rows(columns, predicate, self.sample), columns, f"sample of {cid}"
                    )
                results[cid] = result
            found = others.result() if others is not None else {}
        for cid, check in checks:
            if isinstance(check, RowCount) and cid not in results:
                results[cid] = self._table_check(cid, check, total, columns)
            elif cid in found:
                result = found[cid]
                if isinstance(check, ColumnMetric):  # a percentage needs the scan's row count
                    result = metric_result(cid, check, result.failed or 0, total)
                elif result.rows_checked is not None:
                    result.rows_checked = total
                results[cid] = result
        return SqlRun(total, [results[cid] for cid, _ in checks], self.warnings, self.statements)

    def _on_own_connection(
        self, checks: list[tuple[str, Check]], columns: list[str]
    ) -> dict[str, CheckResult]:
        """``checks`` on a connection of their own (rows checked filled in by the caller)."""
        try:
            conn = self.conn.engine.connect()
        except SQLAlchemyError as exc:
            raise connect_error(self.server, exc) from None
        with conn:
            other = _Run(conn, self.server, self.asset, self.c, self.sample)
            found = {cid: other._table_check(cid, check, 0, columns) for cid, check in checks}
        self.warnings += other.warnings
        self.statements += other.statements
        return found

    def _columns(self) -> set[str]:
        try:
            found = inspect(self.conn).get_columns(self.server.table, schema=self.server.schema)
        except NoSuchTableError:
            raise SourceError(
                f"{self.server.describe()}: table {self.server.qualified_table} not found"
            ) from None
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise SourceError(
                f"{self.server.describe()}: cannot read the table: {redact_text(detail)}"
            ) from None
        if not found:
            raise SourceError(f"{self.server.describe()}: table {self.server.qualified_table} not found")
        return {str(c["name"]).lower() for c in found}

    def _table_check(self, cid: str, check: Check, total: int, columns: list[str]) -> CheckResult:
        if isinstance(check, (Unique, UniqueKey)) or (
            isinstance(check, ColumnMetric) and check.metric == "duplicate_values"
        ):
            key = _key_of(check)
            found = self.execute(self.c.duplicates(key, self.sample), f"uniqueness of {cid}")
            repeats, values = (int(found[0][-2] or 0), int(found[0][-1] or 0)) if found else (0, 0)
            if isinstance(check, ColumnMetric):
                return metric_result(cid, check, repeats, total)
            result = _result(cid, check, total, repeats)
            result.duplicated_values = values
            if repeats and self.sample:
                keys = [row[: len(key)] for row in found[: self.sample]]
                sql = self.c.rows_with_keys(columns, key, keys, self.sample)
                result.examples = self.rows(sql, columns, f"sample of {cid}")
            return result
        if isinstance(check, RowCount):
            return measured(cid, check, total, float(total))
        if isinstance(check, Relationship):
            failed = int(self.execute(self.c.orphans(check, None, 0), f"relationship {cid}")[0][0] or 0)
            result = _result(cid, check, total, failed)
            if failed and self.sample:
                result.examples = self.rows(
                    self.c.orphans(check, columns, self.sample), columns, f"sample of {cid}"
                )
            return result
        if isinstance(check, SqlCheck):
            return self._sql_check(cid, check, total)
        return _skip(cid, check, f"{check.kind} checks cannot run on {self.server.kind}")

    def _sql_check(self, cid: str, check: SqlCheck, total: int) -> CheckResult:
        query = check.query_for(self.c.table_sql())
        if self.c.where is not None:
            self.warnings.append(f"{cid}: the SQL rule reads the whole table (--filter does not apply to it)")
        if check.threshold:
            rows = self.execute(query, f"SQL rule {cid}")
            value = rows[0][0] if rows and rows[0] else None
            try:
                number = float(value) if value is not None else 0.0
            except (TypeError, ValueError):
                # never the value itself: it may be a restricted column's (the rule's output is unknown)
                kind = type(value).__name__
                return _skip(cid, check, f"the SQL rule returned a {kind} value, not a number")
            return measured(cid, check, total, number)
        failed = int(self.execute(f"SELECT COUNT(*) FROM ({query}) AS dativo_rule", f"SQL rule {cid}")[0][0])
        result = _result(cid, check, total, failed)
        if failed and self.sample:
            cursor_rows = self.conn.exec_driver_sql(
                _escape(f"SELECT * FROM ({query}) AS dativo_rule LIMIT {int(self.sample)}")
            )
            names = list(cursor_rows.keys())
            result.examples = [dict(zip(names, row, strict=False)) for row in cursor_rows.fetchall()]
        return result


def _escape(sql: str) -> str:
    """The drivers (psycopg, PyMySQL) read ``%`` as a placeholder even without parameters: doubled."""
    return sql.replace("%", "%%")


def _columns_of(check: Check) -> list[str]:
    columns = list(getattr(check, "columns", ()) or ())
    return columns or ([check.column] if check.column else [])


def _key_of(check: Check) -> tuple[str, ...]:
    columns = tuple(getattr(check, "columns", ()) or ())
    return columns or ((check.column,) if check.column else ())


def _result(cid: str, check: Check, total: int, failed: int) -> CheckResult:
    return CheckResult(
        cid,
        check.kind,
        check.column,
        check.severity,
        outcome(check, failed > 0),
        total,
        failed,
        written_at=check.origin.path,
    )


def _skip(cid: str, check: Check, reason: str) -> CheckResult:
    return CheckResult(
        cid, check.kind, check.column, check.severity, SKIPPED, reason=reason, written_at=check.origin.path
    )
