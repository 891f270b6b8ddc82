"""Query-time enforcement: check an agent's SQL against the contracts of the tables it reads.

:func:`check_sql` parses one query with sqlglot, resolves each table to a contract (through a
``resolve(table) -> asset | None`` callback), attributes every column to its table through the query's
scopes (CTEs and subqueries included) and reports :class:`Violation` s: restricted columns used in
predicates, joins, grouping or ordering (``error``: refused), restricted columns in the output or under
``SELECT *`` (``fix``: masked or left out), missing retention and consent predicates (``fix``), columns
the requester cannot see (``error``), tables that are not available to the requester — refused by the
policy, governed by no contract, ambiguous, table functions — (``error``: one uniform message, nothing
else about them), and statements that write (``error``). :func:`enforce_sql` rewrites the query so that
every table it reads is read through a governed subquery: declared columns only, restricted ones as
``NULL`` under their logical name (``redact``) or absent (``hide``), rows limited to the retention window
and to consenting users. Retention and consent bind everyone; elevation only lifts column restrictions.

Enforcement fails closed: a table reference is a CTE only when a CTE of that name is visible at that
point of the query; every other reference must resolve to a contract the requester may query (or be
listed in the policy's ``allowed_unmanaged_tables``), else the query is refused. Queries too large or
too deeply nested to analyse are refused with :class:`SQLTooComplexError` (HTTP 422).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from dativo_ingest.dbt.naming import needs_quoting
from dativo_ingest.dbt.staging import declared_column
from dativo_ingest.errors import DativoError, UsageError
from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.fields import Treatment, column_treatments
from dativo_ingest.policy.rules import AccessRequest, evaluate

Resolver = Callable[[exp.Table], Any]
PREDICATE_NODES = (exp.Where, exp.Join, exp.Group, exp.Having, exp.Order, exp.Qualify, exp.Window)
#: statements and clauses that write: refused wherever they appear in the tree
WRITE_NODES = (exp.Into, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter)
#: table functions that generate rows without reading stored data
SAFE_TABLE_FUNCTIONS = (exp.GenerateSeries, exp.ExplodingGenerateSeries)
MAX_SQL_CHARS = 100_000
MAX_NESTING = 64  # parentheses in the text, and subqueries in the tree
MAX_NODES = 20_000
MAX_DEPTH = 400  # syntax tree depth (a chain of 400 ANDs)


class SQLTooComplexError(UsageError):
    """The query is too large or too deeply nested to analyse safely (refused; HTTP 422)."""

    http_status = 422


def unavailable(ref: str) -> str:
    """The one message for a table the requester may not read, whatever the reason (unknown, refused,
    ambiguous, a table function): it reveals neither existence nor governance."""
    return f"table {ref} is not available to you"


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


@dataclass(frozen=True)
class _Column:
    """A column of a governed table as the requester sees it."""

    exposed: str  # the name the governed subquery gives it: physical when shown, logical when masked
    physical: str
    treatment: Treatment


@dataclass
class _Governed:
    """A table reference resolved to a contract the requester may query, with what it may see of it."""

    key: str
    asset: Any
    columns: dict[str, _Column]  # lower-case exposed name -> column (hidden columns are absent)
    order: list[_Column]  # every declared column (hidden ones included), in contract order
    retention_column: str | None  # physical name
    retention_days: int | None
    retention_problem: str | None
    consent_column: str | None  # physical name
    consent_required: bool

    @property
    def restricted(self) -> list[_Column]:
        return [c for c in self.order if c.treatment != "show"]


def _physical(f: Any) -> str:
    return f.physical_name or f.name


def _field_physical(asset: Any, logical: str) -> str:
    for f in asset.fields:
        if f.name == logical:
            return _physical(f)
    return logical


def retention_column(asset: Any) -> str | None:
    """The column retention is measured on, as the dbt staging model reads it:
    ``compliance.event_time_column`` (``compliance.retention_column`` accepted as an alias); never
    guessed. Returns the physical name.
    """
    for key in ("event_time_column", "retention_column"):
        name = declared_column(asset, key)
        if name is not None:
            return _field_physical(asset, name)
    return None


def consent_column(asset: Any) -> str | None:
    """The boolean consent column: ``compliance.consent_column``, else a boolean field named ``*consent*``."""
    name = declared_column(asset, "consent_column")
    if name is not None:
        return _field_physical(asset, name)
    for f in asset.fields:
        if (f.type or "") == "boolean" and "consent" in _physical(f).lower():
            return _physical(f)
    return None


def _refused(asset: Any, policy: PolicyConfig, requester: str) -> bool:
    decision = evaluate(
        policy,
        AccessRequest(
            requester,
            "query",
            "asset",
            f"{asset.source_type}/{asset.object_name}",
            frozenset(asset.classifications),
            asset.tenant,
        ),
    )
    return not decision.allowed


def _govern(asset: Any, policy: PolicyConfig, requester: str) -> _Governed:
    key = f"{asset.source_type}/{asset.object_name}"
    by_name = column_treatments(asset, policy, requester)
    columns: dict[str, _Column] = {}
    order: list[_Column] = []
    for f in asset.fields:
        how = by_name.get(f.name, "show")
        col = _Column(_physical(f) if how == "show" else f.name, _physical(f), how)
        order.append(col)
        if how != "hide":
            columns.setdefault(col.exposed.lower(), col)
    comp = asset.compliance
    days = comp.retention_days if comp else None
    problem = None
    try:
        retention = retention_column(asset)
    except DativoError as exc:
        retention, problem = None, str(exc)
    if days and retention is None and problem is None:
        problem = (
            f"{key} has retention_days={days} but declares no compliance.event_time_column, so retention "
            "cannot be enforced"
        )
    try:
        consent = consent_column(asset)
    except DativoError:
        consent = None
    return _Governed(
        key=key,
        asset=asset,
        columns=columns,
        order=order,
        retention_column=retention,
        retention_days=days,
        retention_problem=problem if days else None,
        consent_column=consent,
        consent_required=bool(comp and comp.user_consent_required),
    )


def _nesting(sql: str) -> int:
    """The deepest parenthesis nesting outside string literals and quoted identifiers."""
    depth = deepest = 0
    quote: str | None = None
    for char in sql:
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


def _check_size(tree: exp.Expression) -> None:
    nodes = 0
    stack: list[tuple[exp.Expression, int, int]] = [(tree, 0, 0)]
    while stack:
        node, depth, queries = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise SQLTooComplexError(f"sql has more than {MAX_NODES} syntax nodes", field="sql")
        if depth > MAX_DEPTH:
            raise SQLTooComplexError(f"sql is nested deeper than {MAX_DEPTH} levels", field="sql")
        if isinstance(node, exp.Query):
            queries += 1
            if queries > MAX_NESTING:
                raise SQLTooComplexError(f"sql nests more than {MAX_NESTING} queries", field="sql")
        for child in node.iter_expressions():
            stack.append((child, depth + 1, queries))


def _parse(sql: str, dialect: str | None) -> exp.Expression:
    if not isinstance(sql, str) or not sql.strip():
        raise UsageError("sql must be a non-empty string", field="sql")
    if len(sql) > MAX_SQL_CHARS:
        raise SQLTooComplexError(f"sql is longer than {MAX_SQL_CHARS} characters", field="sql")
    if _nesting(sql) > MAX_NESTING:
        raise SQLTooComplexError(f"sql nests parentheses deeper than {MAX_NESTING} levels", field="sql")
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except RecursionError as exc:
        raise SQLTooComplexError("sql is too deeply nested to analyse", field="sql") from exc
    except ParseError as exc:
        first = exc.errors[0]["description"] if exc.errors else str(exc).splitlines()[0]
        raise UsageError(f"cannot parse SQL: {first}", field="sql") from exc
    except (SqlglotError, ValueError) as exc:
        raise UsageError(f"cannot parse SQL: {str(exc).splitlines()[0]}", field="sql") from exc
    if len(statements) != 1:
        raise UsageError(f"expected exactly one SQL statement, got {len(statements)}", field="sql")
    _check_size(statements[0])
    return statements[0]


def _normalized(ident: exp.Expression, dialect: str | None) -> str:
    """An identifier's name as the dialect resolves it (unquoted names folded, quoted ones kept)."""
    if not isinstance(ident, exp.Identifier):
        return ident.name
    return Dialect.get_or_raise(dialect).normalize_identifier(ident.copy()).name


def _visible_ctes(table: exp.Table, dialect: str | None) -> set[str]:
    """Names of the CTEs in scope where ``table`` appears (a CTE body sees only earlier CTEs of its
    WITH, itself too when RECURSIVE)."""
    names: set[str] = set()
    child: exp.Expression = table
    node = table.parent
    while node is not None:
        if isinstance(node, exp.With):
            ctes = list(node.expressions)
            index = next((i for i, c in enumerate(ctes) if c is child), len(ctes))
            visible = ctes if node.args.get("recursive") else ctes[:index]
            names.update(_normalized(c.args["alias"].this, dialect) for c in visible if c.args.get("alias"))
        else:
            with_ = node.args.get("with_") if isinstance(node, exp.Expression) else None
            if isinstance(with_, exp.With) and child is not with_:
                names.update(
                    _normalized(c.args["alias"].this, dialect)
                    for c in with_.expressions
                    if c.args.get("alias")
                )
        child, node = node, node.parent
    return names


def _table_refs(tree: exp.Expression, dialect: str | None) -> list[tuple[exp.Table, str]]:
    """Every table node with its kind: ``table`` (reads a stored table), ``cte``, ``function`` (a table
    function or a dynamic identifier: refused) or ``generator`` (row generators that read nothing)."""
    out = []
    for table in tree.find_all(exp.Table):
        this = table.this
        if not isinstance(this, exp.Identifier):
            kind = "generator" if isinstance(this, SAFE_TABLE_FUNCTIONS) else "function"
        elif (
            not table.args.get("db")
            and not table.args.get("catalog")
            and _normalized(this, dialect) in _visible_ctes(table, dialect)
        ):
            kind = "cte"
        else:
            kind = "table"
        out.append((table, kind))
    return out


def _ref(table: exp.Table) -> str:
    if not isinstance(table.this, exp.Identifier):
        return table.this.sql()[:80] if isinstance(table.this, exp.Expression) else str(table.this)
    return ".".join(p.name for p in table.parts)


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
_REFUSED_ARGS = ("format", "pattern", "ordinality", "rows_from", "indexed")


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
        self.refs: list[tuple[exp.Table, str]] = []
        if not isinstance(self.tree, exp.Query):
            self._add("not_a_query", "error", f"only queries can be checked, not {self.tree.key.upper()}")
            return
        writes = sorted({n.key.upper() for n in self.tree.find_all(*WRITE_NODES)})
        if writes:
            self._add(
                "writes_data", "error", f"the query writes data ({', '.join(writes)}); only reads are allowed"
            )
            return
        try:
            if not self._resolve(resolve):
                return  # nothing more is said about a query that reads tables it may not
            self._stars()
            self._columns()
        except RecursionError as exc:
            raise SQLTooComplexError("sql is too deeply nested to analyse", field="sql") from exc

    def _add(
        self, kind: str, severity: str, message: str, table: str | None = None, column: str | None = None
    ) -> None:
        v = Violation(kind, severity, message, table, column)
        if v not in self.report.violations:
            self.report.violations.append(v)

    def _unavailable(self, ref: str) -> None:
        self._add("access_denied", "error", unavailable(ref), ref)

    def _resolve(self, resolve: Resolver) -> bool:
        """Bind every table reference; False when any is not available (refused, unknown, a function)."""
        cache: dict[str, _Governed | str | None] = {}
        ok = True
        self.refs = _table_refs(self.tree, self.dialect)
        for table, kind in self.refs:
            if kind in ("cte", "generator"):
                continue
            ref = _ref(table)
            if kind == "function" or any(table.args.get(a) for a in _REFUSED_ARGS):
                self._unavailable(ref)
                ok = False
                continue
            if ref.lower() not in cache:
                asset = resolve(table)
                if isinstance(asset, str) or (
                    asset is not None and _refused(asset, self.policy, self.requester)
                ):
                    cache[ref.lower()] = "refused"  # ambiguous or denied: said exactly like unknown
                elif asset is not None:
                    cache[ref.lower()] = _govern(asset, self.policy, self.requester)
                else:
                    cache[ref.lower()] = None
            gov = cache[ref.lower()]
            if isinstance(gov, _Governed):
                self.governed[id(table)] = gov
                entry = {"table": ref, "contract": gov.key}
            elif gov is None and ref.lower() in self.policy.allowed_unmanaged_tables:
                entry = {"table": ref, "contract": None}
                self._add(
                    "unmanaged_table",
                    "warning",
                    f"table {ref} is governed by no contract; the policy allows it unchanged",
                    ref,
                )
            else:
                entry = {"table": ref, "contract": None}
                self._unavailable(ref)
                ok = False
            if entry not in self.report.tables:
                self.report.tables.append(entry)
        if not ok:
            return False
        for gov in {id(g): g for g in self.governed.values()}.values():
            if gov.retention_problem:
                self._add("retention_unenforceable", "error", gov.retention_problem, gov.key)
            if gov.consent_required and gov.consent_column is None:
                self._add(
                    "consent_unenforceable",
                    "error",
                    f"{gov.key} requires user consent but declares no boolean consent column "
                    "(set compliance.consent_column)",
                    gov.key,
                )
        return True

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
                if gov is None or not gov.restricted:
                    continue
                ref = _ref(source)
                if all(c.treatment == "redact" for c in gov.restricted):
                    names = ", ".join(c.exposed for c in gov.restricted)
                    message = f"SELECT * over {ref} includes restricted columns {names}; they will be masked"
                else:
                    message = f"SELECT * over {ref}: restricted columns are left out"
                self._add("select_star", "fix", message, gov.key)

    def _qualified(self) -> tuple[exp.Expression, dict[int, _Governed]] | None:
        """A qualified copy; governed tables renamed ``__dativo_<i>`` so that one flat schema fits."""
        copy = self.tree.copy()
        copies = list(copy.find_all(exp.Table))
        schema: dict[str, dict[str, str]] = {}
        by_copy: dict[int, _Governed] = {}
        for i, ((orig, _), dup) in enumerate(zip(self.refs, copies, strict=True)):
            gov = self.governed.get(id(orig))
            if gov is None:
                continue
            name = f"__dativo_{i}"
            if not dup.args.get("alias"):
                dup.set("alias", exp.TableAlias(this=dup.this.copy()))
            dup.set("this", exp.to_identifier(name))
            dup.set("db", None)
            dup.set("catalog", None)
            schema[name] = {c.exposed: "TEXT" for c in gov.columns.values()}
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
                    col = gov.columns.get(column.name.lower())
                    if col is None:
                        self._add(
                            "unknown_column",
                            "error",
                            f"column {column.name} is not available in {gov.key}",
                            gov.key,
                            column.name,
                        )
                        continue
                    origin = (col.treatment, gov.key, col.exposed)
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
        how, key, name = origin
        if _context(column, scope) == "predicate":
            self._add(
                "restricted_column",
                "error",
                f"restricted column {name} of {key} used in a filter, join, grouping or ordering",
                key,
                name,
            )
        elif how == "redact":
            self._add(
                "restricted_column",
                "fix",
                f"restricted column {name} of {key} will be masked (NULL)",
                key,
                name,
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
                        c = by_copy[id(src)].columns.get(col.name.lower())
                        if c is not None and c.treatment != "show":
                            origin = (c.treatment, by_copy[id(src)].key, c.exposed)
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
            column = gov.retention_column
            if gov.retention_days and column and not any(_bounds(c, alias, column)[0] for c in conditions):
                self._add(
                    "missing_retention_predicate",
                    "fix",
                    f"{gov.key} keeps data {gov.retention_days} days: filter {column} to that window",
                    gov.key,
                    column,
                )
            column = gov.consent_column
            if gov.consent_required and column and not any(_bounds(c, alias, column)[1] for c in conditions):
                self._add(
                    "missing_consent_predicate",
                    "fix",
                    f"{gov.key} requires user consent: filter {column} = TRUE",
                    gov.key,
                    column,
                )

    def _columns_by_name(self) -> None:
        """Fallback when the query cannot be qualified: any column named like a restricted one counts."""
        restricted: dict[str, tuple[Treatment, str, str]] = {}
        for gov in self.governed.values():
            for name, col in gov.columns.items():
                if col.treatment != "show":
                    restricted.setdefault(name, (col.treatment, gov.key, col.exposed))
        try:
            scopes = traverse_scope(self.tree)
        except (OptimizeError, SqlglotError):
            scopes = []
        for scope in scopes:
            for column in scope.columns:
                origin = restricted.get(column.name.lower())
                if origin:
                    self._restricted_use(column, scope, origin)

    # ----- rewriting ---------------------------------------------------------------------------------
    def rewrite(self) -> str:
        try:
            return self._rewrite()
        except RecursionError as exc:
            raise SQLTooComplexError("sql is too deeply nested to rewrite", field="sql") from exc

    def _governed_subquery(self, table: exp.Table, gov: _Governed) -> exp.Subquery:
        d = self.dialect
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
            now = exp.CurrentDate() if self._is_date(gov) else exp.CurrentTimestamp()
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

    def _rewrite(self) -> str:
        replaced: list[tuple[exp.Table, exp.Subquery]] = []
        for table, kind in self.refs:
            gov = self.governed.get(id(table))
            if kind != "table" or gov is None:
                continue
            parts = [p.name.lower() for p in table.parts]
            if not table.args.get("alias"):
                self._unqualify_columns(table, parts)
            subquery = self._governed_subquery(table, gov)
            replaced.append((table, subquery))
        for table, subquery in replaced:
            table.replace(subquery)
        return self.tree.sql(dialect=self.dialect)

    def _unqualify_columns(self, table: exp.Table, parts: list[str]) -> None:
        """``db.table.column`` names a table by its full name; the subquery is called ``table``."""
        if len(parts) < 2:
            return
        for column in self.tree.find_all(exp.Column):
            qualifier = [p.name.lower() for p in column.parts[:-1]]
            if len(qualifier) >= 2 and parts[-len(qualifier) :] == qualifier:
                column.set("db", None)
                column.set("catalog", None)

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
    """The findings plus, when nothing is refused, the rewritten compliant query in ``report.sql``.

    Every stored table the query reads is replaced by its governed subquery; anything that cannot be
    resolved to a contract the requester may query (or an allowed unmanaged table) refuses the query.
    """
    analysis = _Analysis(sql, resolve, policy, requester, dialect)
    if analysis.report.allowed:
        analysis.report.sql = analysis.rewrite()
    return analysis.report
