"""Anomaly detection over a job's run history with robust statistics.

For each metric the history is fitted with a robust model chosen by how much history there is:

* fewer than :data:`MIN_ROBUST` runs: baseline = median, spread at least 25 % of it (conservative);
* otherwise median/MAD, plus a Theil-Sen trend from :data:`MIN_TREND` runs, plus a weekly season
  when the runs carry timestamps and every weekday was seen at least twice.

The current value's robust z-score ``(value - expected) / spread`` flags a spike or a drop when it
passes ``threshold`` and the change is at least ``min_change`` of the expectation (practically
relevant, not only significant). The spread never falls below a per-metric floor, so flat or all-zero
baselines never divide by zero. Inputs are the spec's run summaries (``resource_usage``,
``cost_breakdown_usd``, ``cost_per_metric``, optional ``start_time``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dativo_ingest.finops.robust import fit, median

MIN_ROBUST = 5
MIN_TREND = 10
#: History looked at: the most recent runs of the last ``WINDOW_DAYS`` days, at most ``WINDOW_RUNS``.
WINDOW_DAYS = 56
WINDOW_RUNS = 120
#: Spread (in log units) when the history is too short to estimate one: about +/-25 %.
SHORT_HISTORY_SPREAD = math.log(1.25)
#: Smallest spread ever used (log units, about 2 %), so flat histories never divide by zero.
MIN_SPREAD = 0.02


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is read from a summary, named in findings and judged."""

    name: str
    path: tuple[str, str]
    spike: str
    drop: str | None
    floor: float
    render: Callable[[float], str]
    label: str


def _usd(v: float) -> str:
    return f"${v:.6f}"


def _bytes(v: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(v) < 1024 or unit == "TiB":
            return f"{v:.1f} {unit}" if unit != "B" else f"{v:.0f} B"
        v /= 1024
    return f"{v:.1f} TiB"  # pragma: no cover


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "total_cost_usd", ("cost_breakdown_usd", "total"), "cost_spike", "cost_drop", 1e-6, _usd, "total cost"
    ),
    MetricSpec(
        "cpu_time_sec",
        ("resource_usage", "cpu_time_sec"),
        "cpu_spike",
        "cpu_drop",
        0.5,
        lambda v: f"{v:.1f} s",
        "CPU time",
    ),
    MetricSpec(
        "memory_peak_mb",
        ("resource_usage", "memory_peak_mb"),
        "memory_spike",
        "memory_drop",
        16.0,
        lambda v: f"{v:.0f} MB",
        "peak memory",
    ),
    MetricSpec(
        "data_bytes_ingested",
        ("resource_usage", "data_bytes_ingested"),
        "data_volume_spike",
        "data_volume_drop",
        65536.0,
        _bytes,
        "data ingested",
    ),
    MetricSpec(
        "api_calls_count",
        ("resource_usage", "api_calls_count"),
        "api_spike",
        "api_drop",
        5.0,
        lambda v: f"{v:.0f} calls",
        "API calls",
    ),
    MetricSpec(
        "cost_per_gb_ingested",
        ("cost_per_metric", "cost_per_gb_ingested"),
        "inefficiency",
        None,
        1e-6,
        _usd,
        "cost per GiB ingested",
    ),
)


def _value(summary: dict[str, Any], spec: MetricSpec) -> float | None:
    section = summary.get(spec.path[0])
    raw = section.get(spec.path[1]) if isinstance(section, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    if math.isnan(value) or math.isinf(value) or value < 0:
        return None
    if spec.name == "cost_per_gb_ingested" and value == 0:  # undefined (nothing ingested), not free
        return None
    return value


def _timestamp(summary: dict[str, Any]) -> datetime | None:
    for key in ("start_time", "started_at", "timestamp"):
        raw = summary.get(key)
        if isinstance(raw, datetime):
            return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
        if isinstance(raw, str):
            try:
                parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _window(
    history: Sequence[dict[str, Any]], now: datetime | None
) -> list[tuple[dict[str, Any], datetime | None]]:
    found = [(h, _timestamp(h)) for h in history if isinstance(h, dict)]
    timed = [(h, ts) for h, ts in found if ts is not None]
    stamped: list[tuple[dict[str, Any], datetime | None]]
    if found and len(timed) == len(found):
        timed.sort(key=lambda pair: pair[1])
        if now is not None:
            timed = [p for p in timed if (now - p[1]).total_seconds() <= WINDOW_DAYS * 86400]
        stamped = list(timed)
    else:
        stamped = [(h, None) for h, _ in found]  # order as given
    return stamped[-WINDOW_RUNS:]


def detect(
    current: dict[str, Any],
    history: Sequence[dict[str, Any]],
    *,
    threshold: float = 4.0,
    high_threshold: float = 6.0,
    min_change: float = 0.2,
) -> list[dict[str, Any]]:
    """Findings ``{type, severity, metric, value, baseline, score, message, method}`` for ``current``.

    ``history`` holds earlier runs of the same tenant and job (any order when timestamped, else
    oldest first). Sorted high severity first, then by the size of the score.
    """
    now = _timestamp(current)
    window = _window(history, now)
    findings: list[dict[str, Any]] = []
    for spec in METRICS:
        value = _value(current, spec)
        if value is None:
            continue
        points = [(v, ts) for h, ts in window if (v := _value(h, spec)) is not None]
        if not points:
            continue
        expected_log, spread, method = _expectation(points, now, spec.floor)
        finding = _judge(
            spec, value, expected_log, spread, method, len(points), threshold, high_threshold, min_change
        )
        if finding:
            findings.append(finding)
    findings.sort(key=lambda f: (f["severity"] != "high", -abs(f["score"]), f["type"]))
    return findings


def _expectation(
    points: list[tuple[float, datetime | None]], now: datetime | None, floor: float
) -> tuple[float, float, str]:
    """Expected log-value and its spread: noise, seasons and anomalies of costs are multiplicative."""
    values = [math.log(v + floor) for v, _ in points]
    if len(values) < MIN_ROBUST:
        return median(values), SHORT_HISTORY_SPREAD, "short-history"
    stamps = [ts for _, ts in points if ts is not None]
    times: list[float]
    weekdays: list[int] | None
    wd_now: int | None
    if now is not None and len(stamps) == len(points):
        times = [ts.timestamp() / 86400 for ts in stamps]
        weekdays = [ts.weekday() for ts in stamps]
        t_now, wd_now = now.timestamp() / 86400, now.weekday()
    else:
        times = [float(i) for i in range(len(values))]
        weekdays, t_now, wd_now = None, float(len(values)), None
    model = fit(times, values, weekdays, trend=len(values) >= MIN_TREND)
    method = "median-mad" + ("+trend" if model.slope else "") + ("+weekly" if model.season else "")
    return model.predict(t_now, wd_now), max(model.sigma, MIN_SPREAD), method


def _judge(
    spec: MetricSpec,
    value: float,
    expected_log: float,
    spread: float,
    method: str,
    n: int,
    threshold: float,
    high_threshold: float,
    min_change: float,
) -> dict[str, Any] | None:
    score = (math.log(value + spec.floor) - expected_log) / spread
    expected = max(0.0, math.exp(expected_log) - spec.floor)
    if abs(score) < threshold or abs(value - expected) < min_change * expected:
        return None
    kind = spec.spike if score > 0 else spec.drop
    if kind is None:
        return None
    severe = abs(score) >= high_threshold or (score < 0 and value <= 0.1 * expected)
    direction = "above" if score > 0 else "below"
    # Below the metric's floor the baseline is noise around zero: a ratio to it would mean nothing.
    ratio = f", {value / expected:.2f}x" if expected >= spec.floor else ""
    return {
        "type": kind,
        "severity": "high" if severe else "medium",
        "metric": spec.name,
        "value": value,
        "baseline": round(expected, 9),
        "score": round(score, 2),
        "message": (
            f"{spec.label} {spec.render(value)} is {direction} the expected {spec.render(expected)}"
            f"{ratio} (robust z {score:+.1f} over {n} earlier runs, {method})"
        ),
        "method": method,
    }
