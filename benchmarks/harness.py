"""A tiny benchmark harness: time a candidate and a baseline in the same process, print the ratio.

The machine is shared and noisy, so absolute times only give scale; every benchmark reports its figure
as a ratio against a baseline measured in the same run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


@dataclass
class Timing:
    """Wall-clock samples of one callable, in seconds."""

    name: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.samples)
        index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return ordered[index]


def time_it(name: str, fn: Callable[[], Any], repeat: int = 5, warmup: int = 1) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeat`` times timed."""
    for _ in range(warmup):
        fn()
    timing = Timing(name)
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        timing.samples.append(time.perf_counter() - start)
    return timing


def machine() -> str:
    """One line naming the machine the figures come from."""
    system = f"{platform.system()} {platform.machine()}"
    return f"{system}, {os.cpu_count()} cores, Python {platform.python_version()}"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions(*packages: str) -> dict[str, str]:
    """Python's version and the installed versions of ``packages`` (distribution names)."""
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def report(
    title: str, figures: dict[str, Any], *, ratio: float | None = None, target: str | None = None
) -> dict:
    """Print a benchmark's figures (and its ratio against the baseline) as text and one JSON line."""
    print(f"== {title} ({machine()})")
    for key, value in figures.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"  {key}: {shown}")
    if ratio is not None:
        print(f"  ratio vs baseline: {ratio:.2f}x" + (f"  (target {target})" if target else ""))
    record = {"benchmark": title, "machine": machine(), **figures, "ratio": ratio, "target": target}
    print("JSON " + json.dumps(record, default=str))
    return record


__all__ = ["Timing", "asdict", "cpu_model", "machine", "report", "time_it", "versions"]
