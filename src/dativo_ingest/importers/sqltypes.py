"""SQL column types (as a database or DDL spells them) as contract fields, through sqlglot.

One mapping for every SQL-speaking source (database reflection, DDL, dbt catalogs): the type text is
parsed in the source's dialect and mapped to a dativo logical type; length becomes ``maxLength``, an
``ENUM(...)`` its accepted values, arrays and structs nested fields; precision and scale stay in
``physicalType`` (ODCS has no logical home for them). A type with no faithful logical type (intervals,
geometry, ranges, user-defined types) is an error naming the column.
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from dativo_ingest.errors import ContractImportError

T = exp.DataType.Type

_SIMPLE: dict[str, tuple[str, ...]] = {
    "string": (
        "CHAR",
        "NCHAR",
        "VARCHAR",
        "NVARCHAR",
        "BPCHAR",
        "TEXT",
        "TINYTEXT",
        "MEDIUMTEXT",
        "LONGTEXT",
        "NAME",
        "CITEXT",
        "INET",
        "CIDR",
        "MACADDR",
        "XML",
        "STRING",
    ),
    "uuid": ("UUID", "UNIQUEIDENTIFIER"),
    "binary": ("BINARY", "VARBINARY", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "IMAGE"),
    "integer": (
        "TINYINT",
        "UTINYINT",
        "SMALLINT",
        "USMALLINT",
        "MEDIUMINT",
        "UMEDIUMINT",
        "INT",
        "SERIAL",
        "SMALLSERIAL",
        "YEAR",
    ),
    "long": ("UINT", "BIGINT", "UBIGINT", "BIGSERIAL", "INT128", "HUGEINT"),
    "float": ("FLOAT",),
    "double": ("DOUBLE",),
    "decimal": ("DECIMAL", "DECIMAL32", "DECIMAL64", "DECIMAL128", "BIGDECIMAL", "MONEY", "SMALLMONEY"),
    "boolean": ("BOOLEAN", "BIT"),
    "date": ("DATE", "DATE32"),
    "timestamp": ("TIMESTAMPTZ", "TIMESTAMPLTZ"),
    "timestamp_ntz": (
        "TIMESTAMP",
        "TIMESTAMPNTZ",
        "DATETIME",
        "DATETIME2",
        "DATETIME64",
        "SMALLDATETIME",
        "TIMESTAMP_S",
        "TIMESTAMP_MS",
        "TIMESTAMP_NS",
    ),
    "time": ("TIME", "TIMETZ"),
    "object": ("JSON", "JSONB", "VARIANT", "OBJECT", "SUPER", "MAP"),
}
LOGICAL: dict[Any, str] = {
    getattr(T, name): logical for logical, names in _SIMPLE.items() for name in names if hasattr(T, name)
}
_LENGTHS = frozenset(getattr(T, n) for n in ("CHAR", "NCHAR", "VARCHAR", "NVARCHAR") if hasattr(T, n))


def parse_type(text: str, dialect: str | None, where: str) -> exp.DataType:
    """``text`` as a sqlglot type; unparsable text is an unsupported type of ``where``."""
    try:
        return exp.DataType.build(text, dialect=dialect, udt=True)
    except (ParseError, ValueError, sqlglot.errors.SqlglotError) as exc:
        raise ContractImportError(f"{where}: unsupported column type '{text}'") from exc


def field_from_type(name: str, data_type: exp.DataType, dialect: str | None, where: str) -> dict[str, Any]:
    """A field (authoring form) for a column ``name`` of ``data_type``; ``where`` names it in errors."""
    kind = data_type.this
    if kind in (T.ARRAY, getattr(T, "LIST", T.ARRAY)):
        inner = data_type.expressions[0] if data_type.expressions else None
        field: dict[str, Any] = {"name": name, "type": "array"}
        if isinstance(inner, exp.DataType):
            field["items"] = field_from_type("item", inner, dialect, f"{where}[]")
        return field
    if kind == T.STRUCT:
        members = []
        for member in data_type.expressions:
            member_name = member.name
            member_type = member.args.get("kind")
            if not isinstance(member_type, exp.DataType):
                raise ContractImportError(
                    f"{where}: unsupported struct member '{member.sql(dialect=dialect)}'"
                )
            members.append(field_from_type(member_name, member_type, dialect, f"{where}.{member_name}"))
        return {"name": name, "type": "object", "properties": members}
    if kind == T.ENUM:
        values = [e.name for e in data_type.expressions if isinstance(e, exp.Literal)]
        return {"name": name, "type": "string", "logicalTypeOptions": {"enum": values}}
    logical = LOGICAL.get(kind)
    if logical is None:
        raise ContractImportError(f"{where}: unsupported column type '{data_type.sql(dialect=dialect)}'")
    field = {"name": name, "type": logical}
    if kind in _LENGTHS and data_type.expressions:
        length = _int_param(data_type)
        if length is not None:
            field["logicalTypeOptions"] = {"maxLength": length}
    if kind == T.BIT and _int_param(data_type) not in (None, 1):
        raise ContractImportError(f"{where}: unsupported column type '{data_type.sql(dialect=dialect)}'")
    return field


def _int_param(data_type: exp.DataType) -> int | None:
    first = data_type.expressions[0] if data_type.expressions else None
    literal = first.this if isinstance(first, exp.DataTypeParam) else first
    if isinstance(literal, exp.Literal) and not literal.is_string and literal.name.isdigit():
        return int(literal.name)
    return None


def column_field(
    name: str, type_text: str, dialect: str | None, where: str, physical: str | None = None
) -> dict[str, Any]:
    """A field for a column whose type is spelled ``type_text``, with ``physicalType`` (the text, or
    ``physical`` when given)."""
    field = field_from_type(name, parse_type(type_text, dialect, where), dialect, where)
    field["physicalType"] = physical or type_text
    return field
