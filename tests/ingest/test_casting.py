"""Vectorised try-cast: per-row failures, never a whole-column error."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from dativo_ingest.ingest.casting import try_cast


def cast(values, target):
    converted, failed = try_cast(pa.array(values), target)
    return converted.to_pylist(), (failed.to_pylist() if failed is not None else [False] * len(values))


@pytest.mark.parametrize(
    ("values", "target", "expected", "failed"),
    [
        (
            ["1", " 2 ", "x", "1.0", None],
            pa.int64(),
            [1, 2, None, None, None],
            [False, False, True, True, False],
        ),
        (["9223372036854775807", "99999999999999999999"], pa.int64(), [2**63 - 1, None], [False, True]),
        (
            ["+5", "-7", "+", "+-1", "٣", ""],
            pa.int64(),
            [5, -7, None, None, None, None],
            [False, False, True, True, True, True],
        ),
        (["+9223372036854775807", "+00000000000000000001"], pa.int64(), [2**63 - 1, 1], [False, False]),
        (["+127", "-128", "+128", "0042"], pa.int8(), [127, -128, None, 42], [False, False, True, False]),
        (["1", "3000000000"], pa.int32(), [1, None], [False, True]),
        (["1.5", "1e3", "abc"], pa.float64(), [1.5, 1000.0, None], [False, False, True]),
        (
            ["12.34", "12.345", "-0.5"],
            pa.decimal128(8, 2),
            [Decimal("12.34"), None, Decimal("-0.50")],
            [False, True, False],
        ),
        (["true", "No", "maybe", "1"], pa.bool_(), [True, False, None, True], [False, False, True, False]),
        (
            ["2024-02-29", "2024-02-30", "2024-13-01"],
            pa.date32(),
            [date(2024, 2, 29), None, None],
            [False, True, True],
        ),
    ],
)
def test_text_casts_fail_only_the_bad_rows(values, target, expected, failed) -> None:
    assert cast(values, target) == (expected, failed)


def test_timestamps_accept_iso_forms_and_treat_missing_offset_as_utc() -> None:
    values, failed = cast(
        [
            "2024-01-01T10:00:00Z",
            "2024-01-01 10:00:00",
            "2024-01-01",
            "2024-01-01T11:00:00+01:00",
            "2024-02-30T00:00:00Z",
            "garbage",
        ],
        pa.timestamp("us", tz="UTC"),
    )
    ten = datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert values[:4] == [ten, ten, datetime(2024, 1, 1, tzinfo=UTC), ten]
    assert values[4:] == [None, None]
    assert failed == [False, False, False, False, True, True]


def test_numbers_cast_to_timestamps_are_epoch_seconds() -> None:
    values, failed = cast([1_700_000_000, None], pa.timestamp("us", tz="UTC"))
    assert values[0] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert failed == [False, False]


def test_non_integral_or_overflowing_numbers_fail_integer_columns() -> None:
    assert cast([1.0, 2.5, 3e10], pa.int32()) == ([1, None, None], [False, True, True])


def test_integer_text_with_a_few_bad_values_casts_each_value_as_python_would() -> None:
    values = [str(i) for i in range(-500, 1500)] + ["+12", "x1", "1_000", " 3", "12345678901234567890", None]
    expected = []
    for value in values:
        try:
            number = int(value.strip()) if value is not None and "_" not in value else None
        except ValueError:
            number = None
        expected.append(number if number is not None and -(2**63) <= number < 2**63 else None)
    assert cast(values, pa.int64())[0] == expected
