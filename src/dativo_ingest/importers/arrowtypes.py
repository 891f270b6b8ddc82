"""Arrow types (Parquet schemas, types inferred from CSV and JSON Lines) as contract fields."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from dativo_ingest.errors import ContractImportError


def arrow_field(field: pa.Field, where: str, *, nullability: bool) -> dict[str, Any]:
    """A field (authoring form) for ``field``; ``nullability`` makes a non-nullable field required
    (Parquet declares it; inferred CSV/JSON types say nothing about it)."""
    entry = _typed(field.name, field.type, f"{where}.{field.name}", nullability)
    entry["physicalType"] = str(field.type)
    if nullability and not field.nullable:
        entry["required"] = True
    return entry


def _typed(name: str, kind: pa.DataType, where: str, nullability: bool) -> dict[str, Any]:
    t = pa.types
    if t.is_dictionary(kind):
        return _typed(name, kind.value_type, where, nullability)
    if t.is_struct(kind):
        members = [arrow_field(kind.field(i), where, nullability=nullability) for i in range(kind.num_fields)]
        return {"name": name, "type": "object", "properties": members}
    if t.is_list(kind) or t.is_large_list(kind) or t.is_fixed_size_list(kind):
        item = _typed("item", kind.value_type, f"{where}[]", nullability)
        item["physicalType"] = str(kind.value_type)
        return {"name": name, "type": "array", "items": item}
    if t.is_map(kind):
        return {"name": name, "type": "object"}
    logical = _logical(kind)
    if logical is None:
        raise ContractImportError(f"{where}: unsupported column type '{kind}'")
    return {"name": name, "type": logical}


def _logical(kind: pa.DataType) -> str | None:
    t = pa.types
    checks = (
        (lambda k: isinstance(k, pa.UuidType), "uuid"),
        (t.is_boolean, "boolean"),
        (
            lambda k: t.is_int8(k) or t.is_int16(k) or t.is_int32(k) or t.is_uint8(k) or t.is_uint16(k),
            "integer",
        ),
        (lambda k: t.is_int64(k) or t.is_uint32(k) or t.is_uint64(k), "long"),
        (lambda k: t.is_float16(k) or t.is_float32(k), "float"),
        (t.is_float64, "double"),
        (t.is_decimal, "decimal"),
        (lambda k: t.is_string(k) or t.is_large_string(k) or t.is_null(k), "string"),
        (lambda k: t.is_binary(k) or t.is_large_binary(k) or t.is_fixed_size_binary(k), "binary"),
        (t.is_date, "date"),
        (lambda k: t.is_timestamp(k) and k.tz is not None, "timestamp"),
        (t.is_timestamp, "timestamp_ntz"),
        (t.is_time, "time"),
    )
    return next((logical for test, logical in checks if test(kind)), None)
