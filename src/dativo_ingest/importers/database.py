"""PostgreSQL and MySQL/MariaDB tables through SQLAlchemy reflection.

SOURCE is a SQLAlchemy URL (``postgresql://user:${PGPASSWORD}@host:5432/db``); ``${ENV}`` references are
resolved (and treated as secrets), the password is never written to a contract or an error. ``--schema``
picks the schema (default: the connection's default schema). Each column's type is compiled in the
server's dialect and mapped by :mod:`.sqltypes`; constraints and comments by :mod:`.relational`.
"""

from __future__ import annotations

import warnings
from typing import Any

import pyarrow as pa
from sqlalchemy import Enum, create_engine, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import NullType
from sqlglot import exp

from dativo_ingest.envsubst import substitute
from dativo_ingest.errors import ContractImportError, DativoError
from dativo_ingest.importers.base import ImportedContract, ImportRequest, contract, safe_stem, select
from dativo_ingest.importers.constraints import parse_check
from dativo_ingest.importers.profile import profile_object
from dativo_ingest.importers.relational import ColumnSpec, ForeignKeySpec, TableSpec, table_object
from dativo_ingest.logging import redact_text, register_secret

#: kind -> (URL schemes accepted, the driver used, sqlglot dialect, ODCS server type, default port).
KINDS: dict[str, tuple[tuple[str, ...], str, str, str, int]] = {
    "postgres": (("postgresql", "postgres"), "postgresql+psycopg", "postgres", "postgres", 5432),
    "mysql": (("mysql", "mariadb"), "mysql+pymysql", "mysql", "mysql", 3306),
}
CONNECT_TIMEOUT_SECONDS = 10


def database_url(kind: str, source: str) -> URL:
    """The SQLAlchemy URL of ``source`` (``${ENV}`` resolved) with the driver dativo uses for ``kind``."""
    schemes, driver = KINDS[kind][0], KINDS[kind][1]
    try:
        raw = substitute(source, path="SOURCE")
    except DativoError as exc:
        raise ContractImportError(exc.message) from exc
    scheme, sep, rest = str(raw).partition("://")
    if not sep or scheme.split("+", 1)[0] not in schemes:
        raise ContractImportError(f"--from {kind} needs a {schemes[0]}:// URL, got '{redact_text(raw)}'")
    try:
        url = make_url(f"{driver}://{rest}")
    except Exception:  # the message repeats the URL
        raise ContractImportError(f"bad {kind} URL '{redact_text(raw)}'") from None
    register_secret(url.password if isinstance(url.password, str) else None)
    return url


def import_database(request: ImportRequest) -> list[ImportedContract]:
    """One contract per selected table of the database ``request.source`` names."""
    url = database_url(request.kind, request.source)
    where = f"{request.kind} server {url.host or 'localhost'}:{url.port or KINDS[request.kind][4]}"
    engine = create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown types are reported as errors below, not warned
            return _import(engine, request, url, where)
    except SQLAlchemyError as exc:
        raise ContractImportError(f"{where}: {_reason(exc)}") from None
    finally:
        engine.dispose()


def _import(engine: Engine, request: ImportRequest, url: URL, where: str) -> list[ImportedContract]:
    inspector = inspect(engine)
    schema = str(request.schema or inspector.default_schema_name or "")
    if request.schema and request.schema not in inspector.get_schema_names():
        raise ContractImportError(f"{where}: schema '{request.schema}' not found")
    database = url.database or ""
    place = f"{where} database {database} schema {schema}"
    names = inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
    views = set(inspector.get_view_names(schema=schema))
    by_qualified = {f"{schema}.{name}" if schema else name: name for name in names}
    chosen = [by_qualified[q] for q in select(request, by_qualified, place)]  # patterns see schema.table
    server = _server(request.kind, url, schema)
    specs = [_table_spec(inspector, request.kind, schema, name, name in views) for name in chosen]
    results: list[ImportedContract] = []
    for spec in specs:
        obj, expectations, warnings = table_object(spec)
        proposals = []
        if request.profile:
            sample = _sample(engine, spec, request.sample_rows)
            proposals = profile_object(obj, sample)
        asset = contract(
            request, source_type=request.kind, obj=obj, servers=[server], expectations=expectations
        )
        results.append(ImportedContract(asset, safe_stem(schema, spec.name), proposals, warnings))
    return results


def _server(kind: str, url: URL, schema: str | None) -> dict[str, Any]:
    server: dict[str, Any] = {
        "server": kind,
        "type": KINDS[kind][3],
        "host": url.host or "localhost",
        "port": url.port or KINDS[kind][4],
        "database": url.database or "",
    }
    if kind == "postgres" and schema:
        server["schema"] = schema
    return server


def _table_spec(inspector: Any, kind: str, schema: str, name: str, view: bool) -> TableSpec:
    dialect = KINDS[kind][2]
    spec = TableSpec(name, schema, dialect, physical_type="view" if view else "table")
    for column in inspector.get_columns(name, schema=schema):
        spec.columns.append(_column(inspector, column, f"{schema}.{name}"))
    spec.comment = (inspector.get_table_comment(name, schema=schema) or {}).get("text")
    spec.primary_key = list(
        (inspector.get_pk_constraint(name, schema=schema) or {}).get("constrained_columns") or []
    )
    spec.uniques = [list(u["column_names"]) for u in inspector.get_unique_constraints(name, schema=schema)]
    if kind == "mysql":  # MySQL reports unique constraints as unique indexes too: take them once
        spec.uniques = sorted({tuple(u) for u in spec.uniques})  # type: ignore[misc]
        spec.uniques = [list(u) for u in spec.uniques]
    for fk in inspector.get_foreign_keys(name, schema=schema):
        spec.foreign_keys.append(
            ForeignKeySpec(
                list(fk["constrained_columns"]),
                fk["referred_table"],
                list(fk["referred_columns"]),
                fk.get("referred_schema"),
            )
        )
    checks = _mysql_checks(inspector, schema, name) if kind == "mysql" else None
    if checks is None:
        checks = [
            (c.get("name"), str(c["sqltext"])) for c in inspector.get_check_constraints(name, schema=schema)
        ]
    for check_name, sql in sorted(checks, key=lambda c: c[0] or ""):
        if kind == "mysql" and _is_json_valid(sql):
            continue  # MariaDB's implicit CHECK (json_valid(col)) on JSON columns
        spec.checks.append((check_name, parse_check(sql, dialect), sql))
    return spec


#: MariaDB lists column-level CHECKs (which SQLAlchemy's reflection misses) with their table.
_MARIADB_CHECKS = text(
    "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
    "WHERE CONSTRAINT_SCHEMA = :schema AND TABLE_NAME = :table"
)


def _mysql_checks(inspector: Any, schema: str, table: str) -> list[tuple[str | None, str]] | None:
    """MariaDB's CHECK constraints from ``information_schema`` (None on MySQL, which lacks the column)."""
    try:
        with inspector.bind.connect() as connection:
            rows = connection.execute(_MARIADB_CHECKS, {"schema": schema, "table": table}).all()
    except SQLAlchemyError:
        return None
    return [(str(r[0]) if r[0] else None, str(r[1])) for r in rows]


def _is_json_valid(sql: str) -> bool:
    return sql.strip().lower().replace("`", "").startswith("json_valid(")


def _column(inspector: Any, column: dict[str, Any], table: str) -> ColumnSpec:
    sa_type = column["type"]
    where = f"{table}.{column['name']}"
    if isinstance(sa_type, NullType):
        raise ContractImportError(f"{where}: unsupported column type (the database driver does not know it)")
    enum = list(sa_type.enums) if isinstance(sa_type, Enum) and sa_type.enums else None
    try:
        type_text = sa_type.compile(dialect=inspector.bind.dialect)
    except Exception as exc:
        raise ContractImportError(f"{where}: unsupported column type {type(sa_type).__name__}") from exc
    if enum is not None and not type_text.upper().startswith("ENUM"):
        return ColumnSpec(
            column["name"],
            type_text,
            bool(column.get("nullable", True)),
            column.get("comment"),
            _enum_text_type(),
            enum,
        )
    return ColumnSpec(column["name"], type_text, bool(column.get("nullable", True)), column.get("comment"))


def _enum_text_type() -> exp.DataType:
    return exp.DataType.build("TEXT")


def _sample(engine: Engine, spec: TableSpec, rows: int) -> pa.Table:
    """The first ``rows`` rows of the table (in primary-key order when it has one), as Arrow."""
    quote = engine.dialect.identifier_preparer.quote
    columns = [c.name for c in spec.columns]
    relation = f"{quote(spec.schema)}.{quote(spec.name)}" if spec.schema else quote(spec.name)
    order = f" ORDER BY {', '.join(quote(c) for c in spec.primary_key)}" if spec.primary_key else ""
    sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM {relation}{order} LIMIT {int(rows)}"
    with engine.connect() as connection:
        result = connection.execute(text(sql))
        records = [tuple(r) for r in result]
    return pa.table({c: _arrow_column([r[i] for r in records]) for i, c in enumerate(columns)})


def _arrow_column(values: list[Any]) -> pa.Array:
    """``values`` as Arrow; values Arrow cannot unify (JSON documents of differing shapes) as text."""
    for arrow_type in (None, pa.uint64()):  # uint64: BIGINT UNSIGNED past the signed 64-bit range
        try:
            return pa.array(values, arrow_type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            continue
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's first line, secrets masked (``connection refused``, ``authentication failed``)."""
    original = getattr(exc, "orig", None) or exc
    message = str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
    return redact_text(message)
