"""The contract's schema as Arrow types (the one mapping ingestion uses; Iceberg types follow from it).

dativo type -> Arrow: string/uuid -> string, integer -> int32, long -> int64, float -> float32,
double/number -> float64, decimal -> decimal128(precision, scale) (``logicalTypeOptions`` or
``physicalType: decimal(p,s)``, default 38,9), boolean, date -> date32, timestamp -> timestamp[us, UTC],
timestamp_ntz -> timestamp[us], time -> time64[us], binary, object -> struct of its properties (JSON
text when it declares none), array -> list of its items (of strings when undeclared). Required fields
are non-nullable.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from dativo_ingest.errors import ContractValidationError
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.types import normalize_type

_DECIMAL = re.compile(r"^\s*(?:decimal|numeric)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*$", re.IGNORECASE)

_SCALARS: dict[str, pa.DataType] = {
    "string": pa.string(),
    "uuid": pa.string(),
    "integer": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "timestamp_ntz": pa.timestamp("us"),
    "time": pa.time64("us"),
    "binary": pa.binary(),
}


def arrow_type(field: Any) -> pa.DataType:
    """The Arrow type of one contract field."""
    kind = normalize_type(field.type) or "string"
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "decimal":
        precision, scale = _decimal_shape(field)
        return pa.decimal128(precision, scale)
    if kind == "object":
        if not field.properties:
            return pa.string()
        return pa.struct([arrow_field(child) for child in field.properties])
    if kind == "array":
        item = field.items
        return pa.list_(arrow_type(item) if item is not None else pa.string())
    raise ContractValidationError(f"type {field.type!r} cannot be ingested", field=field.name)


def arrow_field(field: Any) -> pa.Field:
    return pa.field(field.name, arrow_type(field), nullable=not (field.required or field.primary_key))


def contract_schema(asset: AssetDefinition) -> pa.Schema:
    """Arrow schema of the contract's primary object (required fields non-nullable)."""
    fields = list(asset.fields)
    if not fields:
        raise ContractValidationError("the contract declares no fields to ingest", field="schema")
    return pa.schema([arrow_field(f) for f in fields])


def _decimal_shape(field: Any) -> tuple[int, int]:
    options = field.logical_type_options or {}
    precision, scale = options.get("precision"), options.get("scale")
    match = _DECIMAL.match(field.physical_type or "")
    if match:
        precision = precision or int(match.group(1))
        scale = scale if scale is not None else int(match.group(2) or 0)
    precision = int(precision or 38)
    scale = int(scale if scale is not None else min(9, precision))
    if not 1 <= precision <= 38 or not 0 <= scale <= precision:
        raise ContractValidationError(f"decimal({precision},{scale}) is out of range", field=field.name)
    return precision, scale
