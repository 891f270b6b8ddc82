"""The analysis of one query, shared by check and enforce: it refuses writes, binds every table reference
to a governed contract (or refuses the query), then attributes each column to its table through the
query's scopes to find restricted columns in predicates or outputs, ``SELECT *`` over restricted columns,
and missing retention and consent predicates.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.fields import Treatment
from dativo_ingest.policy.sql.governance import Governed, govern, refused
from dativo_ingest.policy.sql.limits import SQLTooComplexError, parse_statement
from dativo_ingest.policy.sql.predicates import bounds, column_usage
from dativo_ingest.policy.sql.report import SQLReport, Violation, unavailable
from dativo_ingest.policy.sql.tables import table_name, table_refs

Resolver = Callable[[exp.Table], AssetDefinition | str | None]
#: statements and clauses that write: refused wherever they appear in the tree
WRITE_NODES = (exp.Into, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter)
#: functions sqlglot knows that read files or run SQL given as text: refused wherever they appear
OPAQUE_FUNCTIONS: tuple[type[exp.Expression], ...] = (
    exp.ReadCSV,
    exp.ReadParquet,
    exp.ExecuteSql,
    exp.Execute,
    exp.LoadData,
)
#: common functions some dialects leave unparsed (sqlglot ``Anonymous``) that only compute on their arguments
PLAIN_FUNCTIONS = frozenset(
    (  # noqa: SIM905 (a word list reads better than 40 quoted lines)
        "now getdate sysdate date_part datepart date_diff datediff date_add dateadd date_sub age"
        " epoch epoch_ms make_date to_char to_date to_timestamp strftime strptime hash md5 sha1"
        " sha256 sha512 ifnull nvl iff regexp_matches regexp_extract split_part len array_length"
        " list_value format printf levenshtein jaro_winkler_similarity json_extract"
        " json_extract_string to_json"
    ).split()
)
#: table clauses that make a reference unavailable (FILE_FORMAT, PATTERN, ORDINALITY, ROWS FROM, INDEXED BY)
REFUSED_TABLE_ARGS = ("format", "pattern", "ordinality", "rows_from", "indexed")


def _sql_name(node: exp.Expression) -> str:
    """The SQL name of a known function (``READ_CSV``); a statement node (``EXECUTE``) by its key."""
    return node.sql_name() if isinstance(node, exp.Func) else node.key


def _has_star(select: exp.Select) -> bool:
    return any(
        isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        for e in select.expressions
    )


class Analysis:
    """One query's tables, scopes and findings (shared by check and enforce)."""

    def __init__(
        self, sql: str, resolve: Resolver, policy: PolicyConfig, requester: str, dialect: str | None
    ) -> None:
        self.dialect = dialect
        self.policy = policy
        self.requester = requester
        self.tree = parse_statement(sql, dialect)
        self.report = SQLReport(dialect=dialect)
        self.governed: dict[int, Governed] = {}  # id(original Table node) -> binding
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
        opaque = self._opaque_functions()
        if opaque:
            self._add(
                "unknown_function",
                "error",
                f"the query calls {', '.join(opaque)}, which the checks cannot see into (it may read data"
                " directly); list vetted functions in the policy's allowed_functions",
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

    def _opaque_functions(self) -> list[str]:
        """Calls the checks cannot see through: functions sqlglot does not know (``query_to_xml``,
        ``dblink``, ``pg_read_file``, a UDF, ...) unless the policy allows them, and file/SQL readers."""
        names: set[str] = set()
        for node in self.tree.find_all(exp.Anonymous, *OPAQUE_FUNCTIONS):
            if isinstance(node.parent, exp.Table):
                continue  # a table function: resolved (and refused) as a table reference
            name = (node.name if isinstance(node, exp.Anonymous) else _sql_name(node)).lower()
            allowed = name in PLAIN_FUNCTIONS or name in self.policy.allowed_functions
            if isinstance(node, OPAQUE_FUNCTIONS) or not allowed:
                names.add(name)
        return sorted(names)

    def _unavailable(self, ref: str) -> None:
        self._add("access_denied", "error", unavailable(ref), ref)

    def _resolve(self, resolve: Resolver) -> bool:
        """Bind every table reference; False when any is not available (refused, unknown, a function)."""
        cache: dict[str, Governed | str | None] = {}
        ok = True
        self.refs = table_refs(self.tree, self.dialect)
        for table, kind in self.refs:
            if kind in ("cte", "generator"):
                continue
            ref = table_name(table)
            if kind == "function" or any(table.args.get(a) for a in REFUSED_TABLE_ARGS):
                self._unavailable(ref)
                ok = False
                continue
            if ref.lower() not in cache:
                asset = resolve(table)
                if isinstance(asset, str) or (
                    asset is not None and refused(asset, self.policy, self.requester)
                ):
                    cache[ref.lower()] = "refused"  # ambiguous or denied: said exactly like unknown
                elif asset is not None:
                    cache[ref.lower()] = govern(asset, self.policy, self.requester)
                else:
                    cache[ref.lower()] = None
            gov = cache[ref.lower()]
            entry: dict[str, str | None]
            if isinstance(gov, Governed):
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
                if not isinstance(source, exp.Table):
                    continue
                gov = self.governed.get(id(source))
                if gov is None or not gov.restricted:
                    continue
                ref = table_name(source)
                if all(c.treatment == "redact" for c in gov.restricted):
                    names = ", ".join(c.exposed for c in gov.restricted)
                    message = f"SELECT * over {ref} includes restricted columns {names}; they will be masked"
                else:
                    message = f"SELECT * over {ref}: restricted columns are left out"
                self._add("select_star", "fix", message, gov.key)

    def _qualified(self) -> tuple[exp.Expression, dict[int, Governed]] | None:
        """A qualified copy; governed tables renamed ``__dativo_<i>`` so that one flat schema fits."""
        copy = self.tree.copy()
        copies = list(copy.find_all(exp.Table))
        schema: dict[str, object] = {}  # sqlglot's mapping type: table -> {column: type}
        by_copy: dict[int, Governed] = {}
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
    def _unqualified_source(
        column: exp.Column, scope: Scope, by_copy: dict[int, Governed]
    ) -> exp.Table | None:
        """The governed table an unqualified column belongs to (the only source, or one declaring it)."""
        expr = scope.expression
        aliases = {e.alias.lower() for e in expr.expressions} if isinstance(expr, exp.Select) else set()
        if column.name.lower() in aliases and column_usage(column, scope) == "predicate":
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
        if column_usage(column, scope) == "predicate":
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
        scope: Scope, by_copy: dict[int, Governed], outputs: dict[int, dict[str, tuple[Treatment, str, str]]]
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
                    origin: tuple[Treatment, str, str] | None = None
                    if isinstance(src, exp.Table) and id(src) in by_copy:
                        c = by_copy[id(src)].columns.get(col.name.lower())
                        if c is not None and c.treatment != "show":
                            origin = (c.treatment, by_copy[id(src)].key, c.exposed)
                    elif isinstance(src, Scope):
                        origin = outputs.get(id(src.expression), {}).get(col.name.lower())
                    if origin and origin[0] != "show":
                        merged.setdefault(names[pos], origin)
        outputs[id(expr)] = merged

    def _retention(self, scope: Scope, by_copy: dict[int, Governed]) -> None:
        if not isinstance(scope.expression, exp.Select):
            return
        for alias, source in scope.sources.items():
            gov = by_copy.get(id(source)) if isinstance(source, exp.Table) else None
            if gov is None:
                continue
            conditions = [scope.expression.args.get("where")]
            conditions += [j.args.get("on") for j in scope.expression.args.get("joins") or []]
            column = gov.retention_column
            if gov.retention_days and column and not any(bounds(c, alias, column)[0] for c in conditions):
                self._add(
                    "missing_retention_predicate",
                    "fix",
                    f"{gov.key} keeps data {gov.retention_days} days: filter {column} to that window",
                    gov.key,
                    column,
                )
            column = gov.consent_column
            if gov.consent_required and column and not any(bounds(c, alias, column)[1] for c in conditions):
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
