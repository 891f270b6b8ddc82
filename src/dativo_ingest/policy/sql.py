"""Query-time enforcement: check an agent's SQL against the contracts of the tables it reads.

:func:`check_sql` parses one query with sqlglot, resolves each table to a contract (through a
``resolve(table) -> asset | None`` callback), attributes every column to its table through the query's
scopes (CTEs and subqueries included) and reports :class:`Violation` s: restricted columns used in
predicates, joins, grouping or ordering (``error``: refused), restricted columns in the output or under
``SELECT *`` (``fix``: masked or left out), missing retention and consent predicates (``fix``), columns
a contract does not declare and assets the policy refuses (``error``), tables no contract governs
(``warning``). :func:`enforce_sql` rewrites the query so that every governed table is read through a
governed subquery: declared columns only, restricted ones as ``NULL`` (``redact``) or absent (``hide``),
rows limited to the retention window and to consenting users. Retention and consent bind everyone;
elevation only lifts column restrictions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from dativo_ingest.errors import UsageError
from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.fields import Treatment, column_treatments
from dativo_ingest.policy.rules import AccessRequest, evaluate

Resolver = Callable[[exp.Table], Any]
TIME_TYPES = ("timestamp", "timestamp_ntz", "date")
RETENTION_HINTS = ("created_at", "event_time", "event_timestamp", "occurred_at", "timestamp", "updated_at")
PREDICATE_NODES = (exp.Where, exp.Join, exp.Group, exp.Having, exp.Order, exp.Qualify, exp.Window)
MAX_SQL_CHARS = 1_000_000


@dataclass(frozen=True)
class Violation:
    """One finding: ``severity`` is ``error`` (refused), ``fix`` (enforcement rewrites it) or ``warning``."""

    kind: str
    severity: str
    message: str
    table: str | None = None
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class SQLReport:
    """The outcome of a check (and of enforcement, when ``sql`` holds the rewritten query)."""

    dialect: str | None
    tables: list[dict[str, Any]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    sql: str | None = None

    @property
    def allowed(self) -> bool:
        """True when enforcement can make the query compliant (no ``error`` findings)."""
        return not any(v.severity == "error" for v in self.violations)

    @property
    def compliant(self) -> bool:
        """True when the query is compliant as written (only warnings)."""
        return all(v.severity == "warning" for v in self.violations)

    @property
    def reasons(self) -> list[str]:
        return [v.message for v in self.violations if v.severity == "error"]

    def to_dict(self) -> dict[str, Any]:
        data = {
            "allowed": self.allowed,
            "compliant": self.compliant,
            "dialect": self.dialect,
            "tables": self.tables,
            "violations": [v.to_dict() for v in self.violations],
        }
        if self.sql is not None:
            data["sql"] = self.sql
        return data


@dataclass
class _Governed:
    """A table reference resolved to a contract, with what the requester may see of it."""

    key: str
    asset: Any
    columns: dict[str, Treatment]  # lower-case physical column -> treatment
    physical: dict[str, str]  # lower-case physical column -> physical name as declared
    retention_column: str | None
    retention_days: int | None
    consent_column: str | None
    consent_required: bool
    refused: str | None


def _physical(f: Any) -> str:
    return f.physical_name or f.name


def _extra(section: Any, key: str) -> Any:
    extra = getattr(section, "model_extra", None) or {}
    return extra.get(key)


def retention_column(asset: Any) -> str | None:
    """The column retention is measured on: ``compliance.retention_column``, else a time column."""
    explicit = _extra(asset.compliance, "retention_column") if asset.compliance else None
    if explicit:
        return str(explicit)
    times = [f for f in asset.fields if (f.type or "") in TIME_TYPES]
    for f in times:
        if f.partitioned:
            return _physical(f)
    for hint in RETENTION_HINTS:
        for f in times:
            if _physical(f).lower() == hint:
                return _physical(f)
    return _physical(times[0]) if times else None


def consent_column(asset: Any) -> str | None:
    """The boolean consent column: ``compliance.consent_column``, else a boolean field named ``*consent*``."""
    explicit = _extra(asset.compliance, "consent_column") if asset.compliance else None
    if explicit:
        return str(explicit)
    for f in asset.fields:
        if (f.type or "") == "boolean" and "consent" in _physical(f).lower():
            return _physical(f)
    return None


def _govern(asset: Any, policy: PolicyConfig, requester: str) -> _Governed:
    key = f"{asset.source_type}/{asset.object_name}"
    by_name = column_treatments(asset, policy, requester)
    columns: dict[str, Treatment] = {}
    physical: dict[str, str] = {}
    for f in asset.fields:
        columns[_physical(f).lower()] = by_name.get(f.name, "show")
        physical[_physical(f).lower()] = _physical(f)
    decision = evaluate(
        policy,
        AccessRequest(
            requester,
            "query",
            "asset",
            key,
            frozenset(asset.classifications),
            asset.tenant,
        ),
    )
    comp = asset.compliance
    return _Governed(
        key=key,
        asset=asset,
        columns=columns,
        physical=physical,
        retention_column=retention_column(asset),
        retention_days=comp.retention_days if comp else None,
        consent_column=consent_column(asset),
        consent_required=bool(comp and comp.user_consent_required),
        refused=None if decision.allowed else decision.reason,
    )


def _parse(sql: str, dialect: str | None) -> exp.Expression:
    if not isinstance(sql, str) or not sql.strip():
        raise UsageError("sql must be a non-empty string", field="sql")
    if len(sql) > MAX_SQL_CHARS:
        raise UsageError(f"sql is longer than {MAX_SQL_CHARS} characters", field="sql")
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        first = exc.errors[0]["description"] if exc.errors else str(exc).splitlines()[0]
        raise UsageError(f"cannot parse SQL: {first}", field="sql") from exc
    except (SqlglotError, ValueError) as exc:
        raise UsageError(f"cannot parse SQL: {str(exc).splitlines()[0]}", field="sql") from exc
    if len(statements) != 1:
        raise UsageError(f"expected exactly one SQL statement, got {len(statements)}", field="sql")
    return statements[0]


def _base_tables(tree: exp.Expression) -> list[exp.Table]:
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    out = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # table functions, unnest, ...
        if not table.db and table.name.lower() in ctes:
            continue
        out.append(table)
    return out


def _ref(table: exp.Table) -> str:
    return ".".join(p.name for p in table.parts)


def _context(column: exp.Column, scope: Scope) -> str:
    """``predicate`` in a filter, join, grouping, ordering or window, else ``projection``."""
    node = column.parent
    while node is not None and node is not scope.expression:
        if isinstance(node, PREDICATE_NODES):
            return "predicate"
        node = node.parent
    return "projection"


def _has_star(select: exp.Select) -> bool:
    return any(
        isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        for e in select.expressions
    )


def _bounds(node: exp.Expression | None, alias: str, column: str) -> tuple[bool, bool]:
    """(lower bound on ``alias.column`` found, equality-to-true on it found) in a condition."""
    lower = equal = False
    if node is None:
        return lower, equal

    def is_col(e: Any) -> bool:
        return (
            isinstance(e, exp.Column)
            and e.name.lower() == column.lower()
            and e.table.lower() == alias.lower()
        )

    for cmp in node.find_all(exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.EQ, exp.Is):
        lower_bound = (isinstance(cmp, (exp.GT, exp.GTE, exp.Between)) and is_col(cmp.this)) or (
            isinstance(cmp, (exp.LT, exp.LTE)) and is_col(cmp.expression)
        )
        if lower_bound:
            lower = True
        elif isinstance(cmp, (exp.EQ, exp.Is)) and (is_col(cmp.this) or is_col(cmp.expression)):
            other = cmp.expression if is_col(cmp.this) else cmp.this
            equal = equal or (isinstance(other, exp.Boolean) and other.this is True)
    return lower, equal


class _Analysis:
    """One query's tables, scopes and findings (shared by check and enforce)."""

    def __init__(
        self, sql: str, resolve: Resolver, policy: PolicyConfig, requester: str, dialect: str | None
    ) -> None:
        self.dialect = dialect
        self.policy = policy
        self.requester = requester
        self.tree = _parse(sql, dialect)
        self.report = SQLReport(dialect=dialect)
        self.governed: dict[int, _Governed] = {}  # id(original Table node) -> binding
        self.tables: list[exp.Table] = []
        if not isinstance(self.tree, exp.Query):
            self._add("not_a_query", "error", f"only queries can be checked, not {self.tree.key.upper()}")
            return
        self._resolve(resolve)
        self._stars()
        self._columns()

    def _add(
        self, kind: str, severity: str, message: str, table: str | None = None, column: str | None = None
    ) -> None:
        v = Violation(kind, severity, message, table, column)
        if v not in self.report.violations:
            self.report.violations.append(v)

    def _resolve(self, resolve: Resolver) -> None:
        cache: dict[str, _Governed | None] = {}
        ambiguous: set[str] = set()
        for table in _base_tables(self.tree):
            ref = _ref(table)
            if ref.lower() not in cache:
                asset = resolve(table)
                if isinstance(asset, str):  # the resolver's reason why it cannot tell which contract
                    self._add("ambiguous_table", "error", asset, ref)
                    ambiguous.add(ref.lower())
                    asset = None
                cache[ref.lower()] = (
                    _govern(asset, self.policy, self.requester) if asset is not None else None
                )
            gov = cache[ref.lower()]
            self.tables.append(table)
            entry = {"table": ref, "contract": gov.key if gov else None}
            if entry not in self.report.tables:
                self.report.tables.append(entry)
            if gov is None:
                if ref.lower() in ambiguous:
                    continue
                self._add("unknown_table", "warning", f"table {ref} is not governed by any contract", ref)
                continue
            self.governed[id(table)] = gov
            if gov.refused:
                self._add("access_denied", "error", f"{ref}: {gov.refused}", ref)

    def _stars(self) -> None:
        try:
            scopes = traverse_scope(self.tree)
        except (OptimizeError, SqlglotError):
            scopes = []
        for scope in scopes:
            if not isinstance(scope.expression, exp.Select) or not _has_star(scope.expression):
                continue
            for source in scope.sources.values():
                gov = self.governed.get(id(source)) if isinstance(source, exp.Table) else None
                if gov is None:
                    continue
                hidden = sorted(c for c, t in gov.columns.items() if t != "show")
                if hidden:
                    how = "masked" if self.policy.on_restricted == "redact" else "left out"
                    self._add(
                        "select_star",
                        "fix",
                        f"SELECT * over {_ref(source)} includes restricted columns "
                        f"{', '.join(gov.physical[c] for c in hidden)}; they will be {how}",
                        gov.key,
                    )

    def _qualified(self) -> tuple[exp.Expression, dict[int, _Governed]] | None:
        """A qualified copy; governed tables renamed ``__dativo_<i>`` so that one flat schema fits."""
        copy = self.tree.copy()
        originals = _base_tables(self.tree)
        copies = _base_tables(copy)
        schema: dict[str, dict[str, str]] = {}
        by_copy: dict[int, _Governed] = {}
        for i, (orig, dup) in enumerate(zip(originals, copies, strict=True)):
            gov = self.governed.get(id(orig))
            if gov is None:
                continue
            name = f"__dativo_{i}"
            if not dup.args.get("alias"):
                dup.set("alias", exp.TableAlias(this=exp.to_identifier(dup.name)))
            dup.set("this", exp.to_identifier(name))
            dup.set("db", None)
            dup.set("catalog", None)
            schema[name] = {gov.physical[c]: "TEXT" for c in gov.columns}
            by_copy[id(dup)] = gov
        for col in copy.find_all(exp.Column):
            col.meta["explicit"] = True
        try:
            qualified = qualify(
                copy,
                schema=schema,
                dialect=self.dialect,
                validate_qualify_columns=False,
                quote_identifiers=False,
            )
            return qualified, by_copy
        except (OptimizeError, SqlglotError, KeyError, ValueError):
            return None

    def _columns(self) -> None:
        result = self._qualified()
        if result is None:
            self._columns_by_name()
            return
        tree, by_copy = result
        outputs: dict[int, dict[str, tuple[Treatment, str, str]]] = {}
        try:
            scopes = traverse_scope(tree)
        except (OptimizeError, SqlglotError):
            self._columns_by_name()
            return
        for scope in scopes:
            for column in scope.columns:
                source = scope.sources.get(column.table)
                origin: tuple[Treatment, str, str] | None = None
                if not column.table:
                    source = self._unqualified_source(column, scope, by_copy)
                if isinstance(source, exp.Table) and id(source) in by_copy:
                    gov = by_copy[id(source)]
                    name = column.name.lower()
                    if name not in gov.columns:
                        self._add(
                            "unknown_column",
                            "error",
                            f"column {column.name} is not declared in contract {gov.key}",
                            gov.key,
                            column.name,
                        )
                        continue
                    origin = (gov.columns[name], gov.key, gov.physical[name])
                elif isinstance(source, Scope):
                    origin = outputs.get(id(source.expression), {}).get(column.name.lower())
                if origin is None or origin[0] == "show":
                    continue
                self._restricted_use(column, scope, origin)
            self._record_outputs(scope, by_copy, outputs)
            self._retention(scope, by_copy)

    @staticmethod
    def _unqualified_source(column: exp.Column, scope: Scope, by_copy: dict[int, _Governed]) -> Any:
        """The governed table an unqualified column belongs to (the only source, or one declaring it)."""
        expr = scope.expression
        aliases = {e.alias.lower() for e in expr.expressions} if isinstance(expr, exp.Select) else set()
        if column.name.lower() in aliases and _context(column, scope) == "predicate":
            return None  # a reference to an output alias (ORDER BY alias)
        tables = [s for s in scope.sources.values() if isinstance(s, exp.Table) and id(s) in by_copy]
        if len(scope.sources) == 1 and tables:
            return tables[0]
        for table in tables:
            if column.name.lower() in by_copy[id(table)].columns:
                return table
        return None

    def _restricted_use(self, column: exp.Column, scope: Scope, origin: tuple[Treatment, str, str]) -> None:
        how, key, physical = origin
        explicit = bool(column.meta.get("explicit"))
        if _context(column, scope) == "predicate":
            self._add(
                "restricted_column",
                "error",
                f"restricted column {physical} of {key} used in a filter, join, grouping or ordering",
                key,
                physical,
            )
        elif how == "hide" and explicit:
            self._add(
                "restricted_column", "error", f"column {physical} of {key} is hidden by policy", key, physical
            )
        elif how == "redact":
            self._add(
                "restricted_column",
                "fix",
                f"restricted column {physical} of {key} will be masked (NULL)",
                key,
                physical,
            )

    @staticmethod
    def _record_outputs(
        scope: Scope, by_copy: dict[int, _Governed], outputs: dict[int, dict[str, tuple[Treatment, str, str]]]
    ) -> None:
        expr = scope.expression
        selects = [expr] if isinstance(expr, exp.Select) else []
        if isinstance(expr, exp.SetOperation):
            selects = [s for s in expr.find_all(exp.Select)]
        merged: dict[str, tuple[Treatment, str, str]] = {}
        names = [s.alias_or_name.lower() for s in selects[0].expressions] if selects else []
        for select in selects:
            inner_scope_cols = {id(c) for c in scope.columns}
            for pos, projection in enumerate(select.expressions):
                if pos >= len(names):
                    break
                for col in projection.find_all(exp.Column):
                    src = scope.sources.get(col.table) if id(col) in inner_scope_cols else None
                    origin = None
                    if isinstance(src, exp.Table) and id(src) in by_copy:
                        gov = by_copy[id(src)]
                        n = col.name.lower()
                        if n in gov.columns and gov.columns[n] != "show":
                            origin = (gov.columns[n], gov.key, gov.physical[n])
                    elif isinstance(src, Scope):
                        origin = outputs.get(id(src.expression), {}).get(col.name.lower())
                    if origin and origin[0] != "show":
                        merged.setdefault(names[pos], origin)
        outputs[id(expr)] = merged

    def _retention(self, scope: Scope, by_copy: dict[int, _Governed]) -> None:
        if not isinstance(scope.expression, exp.Select):
            return
        for alias, source in scope.sources.items():
            gov = by_copy.get(id(source)) if isinstance(source, exp.Table) else None
            if gov is None:
                continue
            conditions = [scope.expression.args.get("where")]
            conditions += [j.args.get("on") for j in scope.expression.args.get("joins") or []]
            if gov.retention_days:
                if gov.retention_column is None:
                    self._add(
                        "retention_unenforceable",
                        "error",
                        f"{gov.key} has retention_days={gov.retention_days} but no timestamp or date column "
                        "(set compliance.retention_column)",
                        gov.key,
                    )
                elif not any(_bounds(c, alias, gov.retention_column)[0] for c in conditions):
                    self._add(
                        "missing_retention_predicate",
                        "fix",
                        f"{gov.key} keeps data {gov.retention_days} days: filter {gov.retention_column} to "
                        "that window",
                        gov.key,
                        gov.retention_column,
                    )
            if gov.consent_required:
                if gov.consent_column is None:
                    self._add(
                        "consent_unenforceable",
                        "error",
                        f"{gov.key} requires user consent but declares no boolean consent column "
                        "(set compliance.consent_column)",
                        gov.key,
                    )
                elif not any(_bounds(c, alias, gov.consent_column)[1] for c in conditions):
                    self._add(
                        "missing_consent_predicate",
                        "fix",
                        f"{gov.key} requires user consent: filter {gov.consent_column} = TRUE",
                        gov.key,
                        gov.consent_column,
                    )

    def _columns_by_name(self) -> None:
        """Fallback when the query cannot be qualified: any column named like a restricted one counts."""
        restricted: dict[str, tuple[Treatment, str, str]] = {}
        for gov in self.governed.values():
            for name, how in gov.columns.items():
                if how != "show":
                    restricted.setdefault(name, (how, gov.key, gov.physical[name]))
        for scope in traverse_scope(self.tree) if self.tree else []:
            for column in scope.columns:
                origin = restricted.get(column.name.lower())
                if origin:
                    column.meta["explicit"] = True
                    self._restricted_use(column, scope, origin)

    # ----- rewriting ---------------------------------------------------------------------------------
    def rewrite(self) -> str:
        tree = self.tree
        for table in list(self.tables):
            gov = self.governed.get(id(table))
            if gov is None:
                continue
            projections: list[exp.Expression] = []
            for name, how in gov.columns.items():
                col = exp.column(gov.physical[name], quoted=True)
                if how == "show":
                    projections.append(col)
                elif how == "redact":
                    projections.append(exp.alias_(exp.Null(), gov.physical[name], quoted=True))
            inner_table = table.copy()
            inner_table.set("alias", None)
            inner = exp.select(*projections).from_(inner_table)
            conditions = []
            if gov.retention_days and gov.retention_column:
                now = exp.CurrentDate() if self._is_date(gov) else exp.CurrentTimestamp()
                conditions.append(
                    exp.GTE(
                        this=exp.column(gov.retention_column, quoted=True),
                        expression=exp.Sub(
                            this=now,
                            expression=exp.Interval(
                                this=exp.Literal.string(str(int(gov.retention_days))), unit=exp.var("DAY")
                            ),
                        ),
                    )
                )
            if gov.consent_required and gov.consent_column:
                conditions.append(exp.column(gov.consent_column, quoted=True).eq(exp.true()))
            if conditions:
                inner = inner.where(exp.and_(*conditions))
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
            table.replace(exp.Subquery(this=inner, alias=alias.copy()))
        return tree.sql(dialect=self.dialect)

    @staticmethod
    def _is_date(gov: _Governed) -> bool:
        for f in gov.asset.fields:
            if _physical(f) == gov.retention_column:
                return (f.type or "") == "date"
        return False


def check_sql(
    sql: str, resolve: Resolver, policy: PolicyConfig, requester: str, dialect: str | None = None
) -> SQLReport:
    """Findings for ``sql`` as ``requester`` would run it (see the module docstring)."""
    return _Analysis(sql, resolve, policy, requester, dialect).report


def enforce_sql(
    sql: str, resolve: Resolver, policy: PolicyConfig, requester: str, dialect: str | None = None
) -> SQLReport:
    """The findings plus, when nothing is refused, the rewritten compliant query in ``report.sql``."""
    analysis = _Analysis(sql, resolve, policy, requester, dialect)
    if analysis.report.allowed:
        analysis.report.sql = analysis.rewrite()
    return analysis.report
