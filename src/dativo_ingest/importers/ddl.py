"""SQL DDL (``CREATE TABLE`` statements, ``COMMENT ON``) through sqlglot, in the ``--dialect`` given.

SOURCE is a ``.sql`` file (or ``-`` for standard input, read by the CLI). Column and table constraints
(NOT NULL, PRIMARY KEY, UNIQUE, REFERENCES/FOREIGN KEY, CHECK) and comments map as for a database.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from dativo_ingest.errors import ContractImportError
from dativo_ingest.importers.base import ImportedContract, ImportRequest, contract, safe_stem, select
from dativo_ingest.importers.relational import ColumnSpec, ForeignKeySpec, TableSpec, table_object


def import_ddl(request: ImportRequest) -> list[ImportedContract]:
    """One contract per selected ``CREATE TABLE`` of the DDL file ``request.source``."""
    path = Path(request.source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractImportError(f"{path}: cannot read DDL: {exc.strerror or exc}") from exc
    return ddl_contracts(request, text, str(path))


def ddl_contracts(request: ImportRequest, text: str, where: str) -> list[ImportedContract]:
    """The contracts of the DDL ``text`` (``where`` names it in errors)."""
    dialect = request.dialect
    try:
        statements = [s for s in sqlglot.parse(text, dialect=dialect) if s is not None]
    except SqlglotError as exc:
        raise ContractImportError(
            f"{where}: DDL does not parse as {dialect or 'ANSI'} SQL: {_first(exc)}"
        ) from exc
    except ValueError as exc:  # an unknown dialect
        raise ContractImportError(f"--dialect: {exc}") from exc
    tables: dict[str, TableSpec] = {}
    for statement in statements:
        if isinstance(statement, exp.Create) and str(statement.args.get("kind", "")).upper() == "TABLE":
            spec = _table(statement, dialect, where)
            if spec is not None:
                tables[spec.qualified] = spec
    for statement in statements:
        if isinstance(statement, exp.Comment):
            _comment(statement, tables)
    if not tables:
        raise ContractImportError(f"{where}: no CREATE TABLE statement")
    source_type = dialect if dialect in ("postgres", "mysql") else "ddl"
    results = []
    for name in select(request, tables, where):
        spec = tables[name]
        obj, expectations, warnings = table_object(spec)
        asset = contract(request, source_type=source_type, obj=obj, expectations=expectations)
        results.append(ImportedContract(asset, safe_stem(spec.schema, spec.name), warnings=warnings))
    return results


def _first(exc: SqlglotError) -> str:
    """The parser's first complaint, with its line, column and the text it stopped at (not the token's
    Python repr, which the secret masking would garble)."""
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        description = str(first.get("description", "")).split(" but got <Token ", 1)[0]
        near = f" near '{first['highlight']}'" if first.get("highlight") else ""
        return f"{description} at line {first.get('line')}, column {first.get('col')}{near}"
    return str(exc).strip().splitlines()[0]


def _table(statement: exp.Create, dialect: str | None, where: str) -> TableSpec | None:
    schema = statement.this
    if not isinstance(schema, exp.Schema) or not isinstance(schema.this, exp.Table):
        return None  # CREATE TABLE ... AS SELECT: no declared columns
    table = schema.this
    spec = TableSpec(table.name, table.db or None, dialect)
    properties = statement.args.get("properties")
    for prop in properties.expressions if isinstance(properties, exp.Properties) else []:
        if isinstance(prop, exp.SchemaCommentProperty):  # MySQL: CREATE TABLE ... COMMENT='...'
            spec.comment = prop.this.name
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            _column(spec, item, where)
        else:
            _table_constraint(spec, item, dialect)
    return spec


def _column(spec: TableSpec, column: exp.ColumnDef, where: str) -> None:
    name = column.name
    kind = column.args.get("kind")
    if not isinstance(kind, exp.DataType):
        raise ContractImportError(f"{where}: column {spec.qualified}.{name} declares no type")
    entry = ColumnSpec(name, kind.sql(dialect=spec.dialect), parsed=kind)
    for constraint in column.args.get("constraints") or []:
        what = constraint.args.get("kind")
        if isinstance(what, exp.NotNullColumnConstraint) and not what.args.get("allow_null"):
            entry.nullable = False
        elif isinstance(what, exp.PrimaryKeyColumnConstraint):
            spec.primary_key = [name]
        elif isinstance(what, exp.UniqueColumnConstraint):
            spec.uniques.append([name])
        elif isinstance(what, exp.CommentColumnConstraint):
            entry.comment = what.this.name
        elif isinstance(what, exp.CheckColumnConstraint):
            spec.checks.append((None, what.this, what.this.sql(dialect=spec.dialect)))
        elif isinstance(what, exp.Reference):
            target = what.this
            referred = [i.name for i in target.expressions] if isinstance(target, exp.Schema) else []
            table = target.this if isinstance(target, exp.Schema) else target
            spec.foreign_keys.append(ForeignKeySpec([name], table.name, referred or [name], table.db or None))
    spec.columns.append(entry)


def _table_constraint(spec: TableSpec, item: exp.Expression, dialect: str | None) -> None:
    name = None
    if isinstance(item, exp.Constraint):
        name = item.name
        for inner in item.expressions:
            _table_constraint_named(spec, inner, name, dialect)
        return
    _table_constraint_named(spec, item, name, dialect)


def _table_constraint_named(
    spec: TableSpec, item: exp.Expression, name: str | None, dialect: str | None
) -> None:
    if isinstance(item, exp.PrimaryKey):
        spec.primary_key = [_name(e) for e in item.expressions]
    elif isinstance(item, exp.UniqueColumnConstraint):
        target = item.this
        columns = [_name(e) for e in target.expressions] if isinstance(target, exp.Schema) else []
        if columns:
            spec.uniques.append(columns)
    elif isinstance(item, exp.ForeignKey):
        reference = item.args.get("reference")
        target = reference.this if reference is not None else None
        if isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
            spec.foreign_keys.append(
                ForeignKeySpec(
                    [_name(e) for e in item.expressions],
                    target.this.name,
                    [_name(e) for e in target.expressions],
                    target.this.db or None,
                )
            )
    elif isinstance(item, exp.CheckColumnConstraint):
        spec.checks.append((name, item.this, item.this.sql(dialect=dialect)))


def _name(node: exp.Expression) -> str:
    return str(node.name)


def _comment(statement: exp.Comment, tables: dict[str, TableSpec]) -> None:
    kind = str(statement.args.get("kind", "")).upper()
    text = statement.expression.name if statement.expression is not None else None
    target = statement.this
    if kind == "TABLE" and isinstance(target, exp.Table):
        spec = _find(tables, target.db, target.name)
        if spec is not None:
            spec.comment = text
    elif kind == "COLUMN" and isinstance(target, exp.Column):
        spec = _find(tables, target.args.get("db") and target.db, target.table)
        column = next((c for c in spec.columns if c.name == target.name), None) if spec else None
        if column is not None:
            column.comment = text


def _find(tables: dict[str, TableSpec], schema: str | None, name: str) -> TableSpec | None:
    if schema:
        return tables.get(f"{schema}.{name}")
    return next((t for t in tables.values() if t.name == name), None)
