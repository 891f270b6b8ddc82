"""Robust statistics (pure Python): median, MAD scale, Theil-Sen slope, a trend + weekly-season fit."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

#: MAD x this estimates the standard deviation of normally distributed data.
MAD_TO_SIGMA = 1.4826


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def mad_sigma(values: Sequence[float]) -> float:
    """Robust standard deviation: 1.4826 x median absolute deviation from the median."""
    centre = median(values)
    return MAD_TO_SIGMA * median([abs(v - centre) for v in values])


def theil_sen_slope(times: Sequence[float], values: Sequence[float]) -> float:
    """Median of pairwise slopes (robust to up to ~29% outliers); 0 when times do not vary."""
    slopes = [
        (values[j] - values[i]) / (times[j] - times[i])
        for i in range(len(times))
        for j in range(i + 1, len(times))
        if times[j] != times[i]
    ]
    return median(slopes) if slopes else 0.0


@dataclass(frozen=True)
class Fit:
    """level + slope x t + season[weekday], with the robust spread of its residuals."""

    level: float
    slope: float
    t0: float
    season: tuple[float, ...] | None
    sigma: float
    n: int

    def predict(self, t: float, weekday: int | None) -> float:
        base = self.level + self.slope * (t - self.t0)
        if self.season is not None and weekday is not None:
            base += self.season[weekday]
        return base


def fit(
    times: Sequence[float],
    values: Sequence[float],
    weekdays: Sequence[int] | None = None,
    *,
    trend: bool = True,
    min_per_weekday: int = 2,
) -> Fit:
    """Fit a robust trend (Theil-Sen) and, given ``weekdays`` with enough of each, a weekly season.

    The season of a weekday is the median of its detrended values minus the overall median, kept
    only when every weekday has at least ``min_per_weekday`` observations.
    """
    t0 = times[-1]
    ts = [t - t0 for t in times]
    slope = theil_sen_slope(ts, values) if trend else 0.0
    season: tuple[float, ...] | None = None
    if weekdays is not None:
        counts = [sum(1 for w in weekdays if w == d) for d in range(7)]
        if min(counts) >= min_per_weekday:
            detrended = [v - slope * t for v, t in zip(values, ts, strict=True)]
            centre = median(detrended)
            season = tuple(
                median([d for d, w in zip(detrended, weekdays, strict=True) if w == day]) - centre
                for day in range(7)
            )
            deseasoned = [v - season[w] for v, w in zip(values, weekdays, strict=True)]
            if trend:
                slope = theil_sen_slope(ts, deseasoned)
            values = deseasoned
    level = median([v - slope * t for v, t in zip(values, ts, strict=True)])
    if season is not None and weekdays is not None:
        residuals = _leave_one_out(values, ts, weekdays, slope, season)
    else:
        residuals = [v - (level + slope * t) for v, t in zip(values, ts, strict=True)]
    return Fit(level=level, slope=slope, t0=t0, season=season, sigma=mad_sigma(residuals), n=len(values))


def _leave_one_out(
    deseasoned: Sequence[float],
    ts: Sequence[float],
    weekdays: Sequence[int],
    slope: float,
    season: tuple[float, ...],
) -> list[float]:
    """Prediction errors with each point's own weekday estimated without it.

    In-sample residuals of per-weekday medians are shrunk (the middle point of each weekday has a
    zero residual), which would understate the spread of the next run; leaving the point out does not.
    """
    detrended = [v + season[w] - slope * t for v, t, w in zip(deseasoned, ts, weekdays, strict=True)]
    residuals = []
    for i, (d, w) in enumerate(zip(detrended, weekdays, strict=True)):
        others = [x for j, (x, v) in enumerate(zip(detrended, weekdays, strict=True)) if v == w and j != i]
        residuals.append(d - median(others))
    return residuals
