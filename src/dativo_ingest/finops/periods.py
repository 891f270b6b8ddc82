"""Time ranges for reports and billing: ``--since 30d`` and ``--period YYYY-MM``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dativo_ingest.errors import UsageError

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": 1.0, "d": 24.0, "w": 24.0 * 7}
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def since_hours(text: str) -> float:
    """Hours in ``text`` such as ``12h``, ``30d`` or ``2w``."""
    match = _SINCE.match(text or "")
    if not match:
        raise UsageError(f"must look like 12h, 30d or 2w, got {text!r}", field="since")
    return float(match[1]) * _UNITS[match[2].lower()]


def since_datetime(text: str | None, now: datetime | None = None) -> datetime | None:
    """The start of the window ``text`` before ``now`` (``None`` when ``text`` is empty)."""
    if not text:
        return None
    return (now or datetime.now(UTC)) - timedelta(hours=since_hours(text))


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of the calendar month ``YYYY-MM`` in UTC."""
    match = _PERIOD.match(period or "")
    if not match or not 1 <= int(match[2]) <= 12:
        raise UsageError(f"must be a month as YYYY-MM, got {period!r}", field="period")
    year, month = int(match[1]), int(match[2])
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end
