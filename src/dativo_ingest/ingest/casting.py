"""Vectorised "try cast": convert a column to its contract type and report, per row, what did not convert.

``try_cast(array, type)`` returns ``(converted, failed)`` where ``failed`` is a boolean mask of rows
that held a value which cannot be represented in the target type (they become null in ``converted``).
The fast path is one Arrow cast of the whole column; when that refuses, Arrow compute pre-checks the
strings (regular expressions, ``strptime(error_is_null=True)``) so only well-formed values are cast.
A per-value Python fallback runs only on the rare values a pre-check accepts but Arrow still refuses
(an impossible calendar date such as ``2024-02-30``, a 19-digit integer).

Conventions: surrounding whitespace is ignored; booleans accept true/false, t/f, yes/no, y/n, 1/0
(any case); integers or floats cast to a timestamp are Unix epoch seconds; timestamp strings without a
zone offset are UTC.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_INT = r"^[+-]?\d{1,18}$"
_LONG_INT = r"^[+-]?\d{19,}$"
_FLOAT = r"(?i)^[+-]?((\d+(\.\d*)?)|(\.\d+))(e[+-]?\d+)?$|^[+-]?(inf|infinity|nan)$"
_DATE = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
_TIMESTAMP = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)
_HAS_TIME = r"[T ]\d{2}:\d{2}"
_HAS_OFFSET = r"(Z|[+-]\d{2}(:?\d{2})?)$"
_TRUE = pa.array(["true", "t", "yes", "y", "1"])
_BOOL = pa.array(["true", "t", "yes", "y", "1", "false", "f", "no", "n", "0"])
_INT_BOUNDS = {
    pa.int8(): (-(2**7), 2**7 - 1),
    pa.int16(): (-(2**15), 2**15 - 1),
    pa.int32(): (-(2**31), 2**31 - 1),
    pa.int64(): (-(2**63), 2**63 - 1),
}


def try_cast(array: pa.Array, target: pa.DataType) -> tuple[pa.Array, pa.Array | None]:
    """``array`` converted to ``target`` plus a mask of rows whose value did not convert (None: none)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type == target:
        return array, None
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), target), None
    if pa.types.is_timestamp(target) and (
        pa.types.is_integer(array.type) or pa.types.is_floating(array.type)
    ):
        micros = pc.multiply(pc.cast(array, pa.float64()), 1_000_000.0)
        return _finish(array, _cast_floats_to_int(micros, pa.int64()).cast(pa.int64()).cast(target))
    try:
        return pc.cast(array, target), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    if pa.types.is_integer(target) and (pa.types.is_integer(array.type) or pa.types.is_floating(array.type)):
        return _finish(array, _numeric_to_int(array, target))
    text = _as_text(array)
    if text is None:
        return _finish(array, _elementwise(array, target))
    text = pc.utf8_trim_whitespace(text)
    return _finish(array, _from_text(text, target))


def as_mask(mask: pa.Array, *, writable: bool = False) -> np.ndarray:
    """A boolean Arrow array (``try_cast``'s ``failed``, a comparison) as a NumPy mask, null = False.

    ``writable=True`` always returns a copy the caller may modify; otherwise the result may share
    Arrow's (read-only) memory.
    """
    values = mask.fill_null(False).to_numpy(zero_copy_only=False)
    return np.array(values, dtype=bool) if writable else np.asarray(values, dtype=bool)


def _finish(original: pa.Array, converted: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    failed = pc.and_(pc.is_valid(original), pc.is_null(converted))
    if not pc.any(failed).as_py():
        return converted, None
    return converted, failed


def _as_text(array: pa.Array) -> pa.Array | None:
    if pa.types.is_string(array.type):
        return array
    if pa.types.is_large_string(array.type):
        return array.cast(pa.string())
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def _keep(text: pa.Array, ok: pa.Array) -> pa.Array:
    return pc.if_else(ok, text, pa.scalar(None, pa.string()))


def _from_text(text: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_integer(target):
        return _text_to_int(text, target)
    if pa.types.is_floating(target):
        return _cast_or_elementwise(_keep(text, pc.match_substring_regex(text, _FLOAT)), target)
    if pa.types.is_decimal(target):
        scale, whole = target.scale, target.precision - target.scale
        pattern = (
            rf"^[+-]?0*\d{{0,{whole}}}(\.\d{{0,{scale}}}0*)?$"
            if scale
            else rf"^[+-]?0*\d{{1,{whole}}}(\.0*)?$"
        )
        ok = pc.and_(pc.match_substring_regex(text, pattern), pc.match_substring_regex(text, r"\d"))
        return _cast_or_elementwise(_keep(text, ok), target)
    if pa.types.is_boolean(target):
        lowered = pc.utf8_lower(text)
        ok = pc.is_in(lowered, value_set=_BOOL)
        return pc.if_else(ok, pc.is_in(lowered, value_set=_TRUE), pa.scalar(None, pa.bool_()))
    if pa.types.is_date(target):
        kept = _keep(text, pc.match_substring_regex(text, _DATE))
        parsed = pc.strptime(kept, format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime rolls 2024-02-30 over to March: keep only dates that format back to their text
        real = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), kept)
        parsed = pc.if_else(real, parsed, pa.scalar(None, parsed.type))
        return pc.cast(pc.cast(parsed, pa.timestamp("s")), target)
    if pa.types.is_timestamp(target):
        return _text_to_timestamp(text, target)
    return _cast_or_elementwise(text, target)


def _text_to_int(text: pa.Array, target: pa.DataType) -> pa.Array:
    """Plain digits (at most 18) cast directly; only the other values go through the patterns (a
    column of digits with a few bad values casts five times faster than through the patterns)."""
    plain = pc.and_(pc.ascii_is_decimal(text), pc.less_equal(pc.binary_length(text), 18))
    values = pc.cast(_keep(text, plain), pa.int64())
    other = pc.invert(plain.fill_null(True))
    if pc.any(other).as_py():
        values = pc.replace_with_mask(values, other, _patterned_int(pc.filter(text, other)))
    return _bounded(values, target)


def _patterned_int(text: pa.Array) -> pa.Array:
    """Signed, long or malformed integer text as int64 (null where it is not an integer in range)."""
    unsigned = pc.utf8_ltrim(text, characters="+")  # Arrow refuses a "+" sign; the patterns allow one
    values = pc.cast(_keep(unsigned, pc.match_substring_regex(text, _INT)), pa.int64())
    long = pc.match_substring_regex(text, _LONG_INT)
    if pc.any(long).as_py():
        values = pc.coalesce(values, _elementwise(_keep(unsigned, long), pa.int64()))
    return values


def _bounded(values: pa.Array, target: pa.DataType) -> pa.Array:
    low, high = _INT_BOUNDS.get(target, (None, None))
    if target != pa.int64() and low is not None:
        ok = pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high))
        values = pc.if_else(ok, values, pa.scalar(None, values.type))
    return pc.cast(values, target)


def _numeric_to_int(array: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_floating(array.type):
        array = _cast_floats_to_int(array, pa.int64())
    return _bounded(pc.cast(array, pa.int64()), target)


def _cast_floats_to_int(array: pa.Array, target: pa.DataType) -> pa.Array:
    """Integral, finite floats within int64 range -> ints; anything else -> null."""
    floats = pc.cast(array, pa.float64())
    ok = pc.and_(
        pc.and_(pc.is_finite(floats), pc.equal(pc.floor(floats), floats)),
        pc.and_(pc.greater_equal(floats, -9.2e18), pc.less_equal(floats, 9.2e18)),
    )
    kept = pc.if_else(ok, floats, pa.scalar(None, pa.float64()))
    return pc.cast(kept, target)


def _text_to_timestamp(text: pa.Array, target: pa.DataType) -> pa.Array:
    kept = _keep(text, pc.match_substring_regex(text, _TIMESTAMP))
    kept = pc.if_else(
        pc.match_substring_regex(kept, _HAS_TIME), kept, pc.binary_join_element_wise(kept, "T00:00:00", "")
    )
    kept = pc.if_else(
        pc.match_substring_regex(kept, _HAS_OFFSET), kept, pc.binary_join_element_wise(kept, "Z", "")
    )
    aware = pa.timestamp(target.unit, tz="UTC")
    converted = _cast_or_elementwise(kept, aware)
    if target.tz is None:
        return pc.cast(converted, target)
    return converted if target.tz == "UTC" else pc.cast(converted, target)


def _cast_or_elementwise(array: pa.Array, target: pa.DataType) -> pa.Array:
    try:
        return pc.cast(array, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return _elementwise(array, target)


def _elementwise(array: pa.Array, target: pa.DataType) -> pa.Array:
    """Rare path: cast value by value; values that refuse become null."""
    out: list[Any] = []
    for value in array:
        if not value.is_valid:
            out.append(None)
            continue
        try:
            out.append(value.cast(target).as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError, OverflowError):
            out.append(None)
    return pa.array(out, type=target)
