"""Resource usage of one run and the validation of every recorded amount."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dativo_ingest.errors import UsageError

#: Key under which API calls without an ``api_type`` are counted.
DEFAULT_API_TYPE = "default"


def check_amount(value: Any, what: str, *, whole: bool = False) -> float | int:
    """``value`` as a number if it is a finite, non-negative real (an integer when ``whole``).

    Raises :class:`UsageError` naming ``what`` otherwise (strings, booleans, NaN, negatives).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise UsageError(f"must be a number, got {type(value).__name__} {value!r}", field=what)
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise UsageError(f"must be a finite number, got {value!r}", field=what)
    if number < 0:
        raise UsageError(f"must not be negative, got {value!r}", field=what)
    if whole:
        if not number.is_integer():
            raise UsageError(f"must be a whole number, got {value!r}", field=what)
        return int(value)
    return number


def check_api_type(api_type: Any) -> str:
    """The bucket name for ``api_type`` (``None`` counts as :data:`DEFAULT_API_TYPE`)."""
    if api_type is None:
        return DEFAULT_API_TYPE
    if not isinstance(api_type, str) or not api_type.strip() or len(api_type) > 64:
        raise UsageError(
            f"must be a non-empty name of at most 64 characters, got {api_type!r}", field="api_type"
        )
    return api_type.strip()


@dataclass
class Usage:
    """What a run consumed. Additive amounts accumulate; memory keeps the peak."""

    cpu_time_sec: float = 0.0
    memory_peak_mb: float = 0.0
    wall_time_sec: float = 0.0
    data_bytes_ingested: int = 0
    data_bytes_written: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)

    @property
    def api_calls_count(self) -> int:
        return sum(self.api_calls.values())

    def to_dict(self) -> dict[str, Any]:
        """The spec's ``resource_usage`` block (plus calls per type)."""
        return {
            "cpu_time_sec": self.cpu_time_sec,
            "memory_peak_mb": self.memory_peak_mb,
            "data_bytes_ingested": self.data_bytes_ingested,
            "data_bytes_written": self.data_bytes_written,
            "api_calls_count": self.api_calls_count,
            "api_calls_by_type": dict(sorted(self.api_calls.items())),
        }
