"""``--profile``: a bounded sample's evidence, as proposed checks (never as facts).

For each top-level column of the sample: no nulls -> propose ``required``; all values distinct -> propose
``unique``; few distinct values -> propose accepted values; numbers and dates -> the observed range;
text that looks like emails or phone numbers -> a PII classification, card numbers (Luhn-valid) -> PCI.
Each proposal carries its evidence (rows sampled, null share, distinct count, matching share). They are
written on the field as the ``dativo.proposed`` custom property and returned for printing; nothing is
set on the field itself.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dativo_ingest.importers.base import PROPOSED
from dativo_ingest.odcs.model import SchemaField, SchemaObject

#: At most this many distinct values (and at most this share of the rows) propose accepted values.
MAX_ACCEPTED = 10
ACCEPTED_SHARE = 0.2
#: The share of non-null text values that must look like an email/phone/card number.
LOOKS_LIKE_SHARE = 0.9
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{6,18}[0-9]$")
_CARD = re.compile(r"^[0-9][0-9 -]{11,21}[0-9]$")
_ORDERED = ("integer", "long", "number", "float", "double", "decimal", "date", "timestamp", "timestamp_ntz")
_TEXT = ("string", None)


def profile_object(obj: SchemaObject, sample: pa.Table) -> list[dict[str, Any]]:
    """Propose checks for ``obj``'s top-level fields from ``sample``; writes them onto the fields and
    returns them (``{"column", "check", ..., "evidence"}``) in field order."""
    proposals: list[dict[str, Any]] = []
    for field in obj.properties:
        if field.name not in sample.column_names:
            continue
        found = _column_proposals(field, sample.column(field.name))
        if found:
            field.custom_properties = [
                *(c for c in field.custom_properties if c.get("property") != PROPOSED),
                {"property": PROPOSED, "value": found},
            ]
            proposals.extend({"column": field.name, **p} for p in found)
    return proposals


def _column_proposals(field: SchemaField, column: pa.ChunkedArray) -> list[dict[str, Any]]:
    rows = len(column)
    if rows == 0:
        return []
    if isinstance(column.type, pa.BaseExtensionType):  # UUIDs and the like: profiled as their text
        column = pa.chunked_array([pa.array(_texts(column), pa.string())], pa.string())
    nulls = column.null_count
    evidence = {"rows": rows, "nulls": nulls, "null_share": round(nulls / rows, 4)}
    found: list[dict[str, Any]] = []
    if nulls == 0 and not (field.required or field.primary_key):
        found.append({"check": "required", "evidence": dict(evidence)})
    if pa.types.is_nested(column.type) or pa.types.is_binary(column.type):
        return found
    values = column.drop_null()
    if len(values) == 0:
        return found
    distinct = pc.count_distinct(values).as_py()
    stats = {**evidence, "distinct": distinct}
    if distinct == len(values) and nulls == 0 and not (field.unique or field.primary_key) and rows > 1:
        found.append({"check": "unique", "evidence": dict(stats)})
    options = field.logical_type_options or {}
    textual = field.type in _TEXT or pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    if (
        distinct <= MAX_ACCEPTED
        and distinct <= ACCEPTED_SHARE * len(values)
        and "enum" not in options
        and (textual or field.type in ("integer", "long"))
    ):
        accepted = sorted(_plain(v) for v in pc.unique(values).to_pylist())
        found.append({"check": "accepted_values", "values": accepted, "evidence": dict(stats)})
    if field.type in _ORDERED and not pa.types.is_string(column.type):
        low_high = pc.min_max(values).as_py()
        found.append(
            {
                "check": "range",
                "observed_minimum": _plain(low_high["min"]),
                "observed_maximum": _plain(low_high["max"]),
                "evidence": dict(evidence),
            }
        )
    if textual or field.type in ("integer", "long"):  # card numbers are often stored as numbers
        found.extend(_classifications(values, stats))
    return found


def _classifications(values: pa.ChunkedArray, evidence: dict[str, Any]) -> list[dict[str, Any]]:
    texts = [str(v).strip() for v in values.to_pylist()]
    tests = (
        ("PII", "email", lambda v: bool(_EMAIL.match(v))),
        ("PCI", "card_number", _is_card_number),
        ("PII", "phone", lambda v: bool(_PHONE.match(v)) and not _is_card_number(v)),
    )
    for label, looks_like, test in tests:
        matching = sum(1 for v in texts if test(v))
        share = matching / len(texts)
        if share >= LOOKS_LIKE_SHARE:
            return [
                {
                    "check": "classification",
                    "classification": label,
                    "looks_like": looks_like,
                    "evidence": {**evidence, "matching": matching, "matching_share": round(share, 4)},
                }
            ]
    return []


def _texts(column: pa.ChunkedArray) -> list[str | None]:
    return [None if v is None else str(v) for v in column.to_pylist()]


def _is_card_number(value: str) -> bool:
    """13-19 digits (spaces or dashes allowed) passing the Luhn checksum."""
    if not _CARD.match(value):
        return False
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def _plain(value: Any) -> Any:
    """A YAML/JSON-friendly, deterministic spelling of a sampled value."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value
