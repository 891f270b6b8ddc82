"""Contract types as adapter SQL types (duckdb, postgres, snowflake, bigquery, databricks/spark, trino).

Built on the one type vocabulary in :mod:`dativo_ingest.odcs.types`. The logical type decides; the
physical type refines it where it carries what the logical type cannot (decimal precision and scale),
and stands in when no logical type is declared. Physical types are re-rendered in the adapter's dialect
by sqlglot, so ``NUMERIC(12,2)`` becomes ``number(12,2)`` on Snowflake.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from dativo_ingest.errors import DbtError
from dativo_ingest.odcs.types import normalize_type

ADAPTERS: tuple[str, ...] = ("duckdb", "postgres", "snowflake", "bigquery", "databricks", "spark", "trino")

# dativo logical type -> SQL type per adapter; "{p},{s}" are decimal precision/scale, "{item}" an array item.
_TYPES: dict[str, dict[str, str]] = {
    "duckdb": {
        "string": "varchar",
        "uuid": "uuid",
        "binary": "blob",
        "integer": "integer",
        "long": "bigint",
        "number": "double",
        "float": "float",
        "double": "double",
        "decimal": "decimal({p},{s})",
        "boolean": "boolean",
        "date": "date",
        "timestamp": "timestamptz",
        "timestamp_ntz": "timestamp",
        "time": "time",
        "object": "json",
        "array": "{item}[]",
        "array_any": "json",
    },
    "postgres": {
        "string": "text",
        "uuid": "uuid",
        "binary": "bytea",
        "integer": "integer",
        "long": "bigint",
        "number": "double precision",
        "float": "real",
        "double": "double precision",
        "decimal": "numeric({p},{s})",
        "boolean": "boolean",
        "date": "date",
        "timestamp": "timestamptz",
        "timestamp_ntz": "timestamp",
        "time": "time",
        "object": "jsonb",
        "array": "{item}[]",
        "array_any": "jsonb",
    },
    "snowflake": {
        "string": "varchar",
        "uuid": "varchar",
        "binary": "binary",
        "integer": "number(10,0)",
        "long": "number(19,0)",
        "number": "float",
        "float": "float",
        "double": "float",
        "decimal": "number({p},{s})",
        "boolean": "boolean",
        "date": "date",
        "timestamp": "timestamp_tz",
        "timestamp_ntz": "timestamp_ntz",
        "time": "time",
        "object": "object",
        "array": "array",
        "array_any": "array",
    },
    "bigquery": {
        "string": "string",
        "uuid": "string",
        "binary": "bytes",
        "integer": "int64",
        "long": "int64",
        "number": "float64",
        "float": "float64",
        "double": "float64",
        "decimal": "numeric({p}, {s})",
        "boolean": "bool",
        "date": "date",
        "timestamp": "timestamp",
        "timestamp_ntz": "datetime",
        "time": "time",
        "object": "json",
        "array": "array<{item}>",
        "array_any": "json",
    },
    "databricks": {
        "string": "string",
        "uuid": "string",
        "binary": "binary",
        "integer": "int",
        "long": "bigint",
        "number": "double",
        "float": "float",
        "double": "double",
        "decimal": "decimal({p},{s})",
        "boolean": "boolean",
        "date": "date",
        "timestamp": "timestamp",
        "timestamp_ntz": "timestamp_ntz",
        "time": "string",
        "object": "string",
        "array": "array<{item}>",
        "array_any": "array<string>",
    },
    "trino": {
        "string": "varchar",
        "uuid": "uuid",
        "binary": "varbinary",
        "integer": "integer",
        "long": "bigint",
        "number": "double",
        "float": "real",
        "double": "double",
        "decimal": "decimal({p},{s})",
        "boolean": "boolean",
        "date": "date",
        "timestamp": "timestamp(6) with time zone",
        "timestamp_ntz": "timestamp(6)",
        "time": "time(6)",
        "object": "json",
        "array": "array({item})",
        "array_any": "json",
    },
}
_TYPES["spark"] = {**_TYPES["databricks"], "timestamp_ntz": "timestamp"}

#: Default precision and scale of a decimal with none declared.
DEFAULT_DECIMAL = (38, 9)
#: sqlglot dialect per adapter.
SQLGLOT_DIALECT = {a: a for a in ADAPTERS}


def check_adapter(adapter: str) -> str:
    """The adapter name, or a :class:`DbtError` naming the supported ones."""
    if adapter not in _TYPES:
        raise DbtError(f"unsupported adapter '{adapter}' (supported: {', '.join(ADAPTERS)})", field="adapter")
    return adapter


def string_type(adapter: str) -> str:
    """The adapter's text type (masked values are text)."""
    return _TYPES[check_adapter(adapter)]["string"]


def sql_type(field: Any, adapter: str = "duckdb") -> str:
    """The adapter SQL type of a contract field (``SchemaField``-like: ``type``, ``physical_type``, ...)."""
    table = _TYPES[check_adapter(adapter)]
    logical = normalize_type(getattr(field, "type", None))
    physical = getattr(field, "physical_type", None)
    if logical is None or logical not in table:
        if physical:
            rendered = _physical(str(physical), adapter)
            if rendered:
                return rendered
        if logical is None:
            return table["string"]
        raise DbtError(
            f"field '{field.name}' has type '{logical}' with no {adapter} mapping", field=field.name
        )
    if logical == "decimal":
        precision, scale = _decimal_args(field, adapter)
        return table["decimal"].format(p=precision, s=scale)
    if logical == "array":
        items = getattr(field, "items", None)
        if items is None or normalize_type(getattr(items, "type", None)) in (None, "object", "array"):
            return table["array_any"]
        return table["array"].format(item=sql_type(items, adapter))
    return table[logical]


def _decimal_args(field: Any, adapter: str) -> tuple[int, int]:
    options = getattr(field, "logical_type_options", None) or {}
    if "precision" in options:
        return int(options["precision"]), int(options.get("scale", 0))
    physical = getattr(field, "physical_type", None)
    if physical:
        parsed = _parse_physical(str(physical))
        if parsed is not None and parsed[0] == "decimal" and parsed[1]:
            return parsed[1]
    return DEFAULT_DECIMAL


@lru_cache(maxsize=1024)
def _parse_physical(text: str) -> tuple[str, tuple[int, int] | None] | None:
    """(dativo type, (precision, scale) or None) of a physical SQL type, or None when it does not parse."""
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        data_type = exp.DataType.build(text)
    except (ParseError, ValueError):
        return None
    name = data_type.this.name.lower()
    args = [e.this for e in data_type.expressions if isinstance(e, exp.DataTypeParam)]
    numbers = [int(a.name) for a in args if isinstance(a, exp.Literal) and a.is_int]
    if name in ("decimal", "bigdecimal") and numbers:
        return "decimal", (numbers[0], numbers[1] if len(numbers) > 1 else 0)
    return normalize_type(name) or name, None


@lru_cache(maxsize=1024)
def _physical(text: str, adapter: str) -> str | None:
    """A physical type re-rendered in ``adapter``'s dialect, or None when sqlglot cannot read it."""
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        data_type = exp.DataType.build(text)
    except (ParseError, ValueError):
        return None
    if data_type.this in (exp.DataType.Type.USERDEFINED, exp.DataType.Type.UNKNOWN):
        return None
    return data_type.sql(dialect=SQLGLOT_DIALECT[adapter]).lower()
