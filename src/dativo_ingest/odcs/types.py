"""The type vocabulary of contracts: dativo logical types, their aliases and ODCS logical types.

One table, used by conversion, validation, dbt type mapping and ingestion alike.
"""

from __future__ import annotations

from dativo_ingest.odcs.versions import at_least

#: dativo logical type -> ODCS v3.0.2 ``logicalType``.
ODCS_LOGICAL_TYPE: dict[str, str] = {
    "string": "string",
    "uuid": "string",
    "binary": "string",
    "integer": "integer",
    "long": "integer",
    "number": "number",
    "float": "number",
    "double": "number",
    "decimal": "number",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "date",
    "timestamp_ntz": "date",
    "time": "date",
    "object": "object",
    "array": "array",
}

#: ODCS v3.1.0 adds ``timestamp`` and ``time`` as logical types (v3.2.0 keeps them and adds ``map`` and
#: ``vector``, which no dativo type maps to).
ODCS_31_LOGICAL_TYPE: dict[str, str] = {
    **ODCS_LOGICAL_TYPE,
    "timestamp": "timestamp",
    "timestamp_ntz": "timestamp",
    "time": "time",
}

#: Spellings users write for a dativo type (left) and the type they mean (right).
TYPE_ALIASES: dict[str, str] = {
    "str": "string",
    "text": "string",
    "varchar": "string",
    "char": "string",
    "int": "integer",
    "int32": "integer",
    "int4": "integer",
    "smallint": "integer",
    "bigint": "long",
    "int64": "long",
    "int8": "long",
    "float32": "float",
    "real": "float",
    "float64": "double",
    "numeric": "decimal",
    "bool": "boolean",
    "datetime": "timestamp",
    "timestamptz": "timestamp",
    "timestamp_tz": "timestamp",
    "bytes": "binary",
    "struct": "object",
    "record": "object",
    "list": "array",
}

DATIVO_TYPES: frozenset[str] = frozenset(ODCS_LOGICAL_TYPE)

#: Widenings that keep every existing value readable (old type -> types it may become).
SAFE_WIDENINGS: dict[str, frozenset[str]] = {
    "integer": frozenset({"long", "float", "double", "decimal", "number"}),
    "long": frozenset({"decimal", "number", "double"}),
    "float": frozenset({"double", "number"}),
    "double": frozenset({"number"}),
    "decimal": frozenset({"number"}),
    "date": frozenset({"timestamp"}),
    "uuid": frozenset({"string"}),
}

#: Types whose values compare numerically (for range rules).
NUMERIC_TYPES: frozenset[str] = frozenset({"integer", "long", "number", "float", "double", "decimal"})


def normalize_type(name: str | None) -> str | None:
    """The dativo type a spelling means (``"BIGINT"`` -> ``"long"``); unknown names pass through lowered."""
    if name is None:
        return None
    lowered = str(name).strip().lower()
    return TYPE_ALIASES.get(lowered, lowered)


def is_known_type(name: str | None) -> bool:
    return name is not None and normalize_type(name) in DATIVO_TYPES


def odcs_logical_type(name: str | None, api_version: str = "v3.0.2") -> str | None:
    """The ODCS ``logicalType`` for a dativo type, or None when it has none."""
    table = ODCS_31_LOGICAL_TYPE if at_least(api_version, "v3.1.0") else ODCS_LOGICAL_TYPE
    return table.get(normalize_type(name) or "")


def is_safe_widening(old: str | None, new: str | None) -> bool:
    """True when every value of ``old`` stays valid under ``new``."""
    old_n, new_n = normalize_type(old), normalize_type(new)
    return old_n == new_n or new_n in SAFE_WIDENINGS.get(old_n or "", frozenset())
