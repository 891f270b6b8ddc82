"""Measure what the current process really uses: CPU time (user + system) and peak resident memory.

CPU comes from the kernel's per-process accounting (``psutil.Process().cpu_times()``), so it counts
every thread of the process and, with ``include_children``, child processes that exited and were
waited for during the window. Peak memory is the highest RSS seen by a sampling thread, raised to the
kernel's high-water mark (``ru_maxrss``) whenever that mark moved during the window (then the new
peak certainly happened inside it). Measurement is process-wide: run one measured job per process
for exact attribution.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

import psutil

try:  # not on Windows
    import resource
except ImportError:  # pragma: no cover
    resource = None  # type: ignore[assignment]  # the module or None: typeshed has no optional module

MB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    """What one window used."""

    cpu_user_sec: float
    cpu_system_sec: float
    peak_rss_mb: float
    wall_time_sec: float

    @property
    def cpu_time_sec(self) -> float:
        return self.cpu_user_sec + self.cpu_system_sec


def _max_rss_bytes(who: int) -> int:
    if resource is None:
        return 0
    value = resource.getrusage(who).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024  # Linux reports KiB


class ResourceMeter:
    """Start/stop (or ``with``) window measuring this process; ``result`` after :meth:`stop`."""

    def __init__(self, *, include_children: bool = True, sample_interval: float = 0.05) -> None:
        self.include_children = include_children
        self.sample_interval = sample_interval
        self.result: Measurement | None = None
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak_rss = 0
        self._start: tuple[float, float, float, int, int] | None = None

    def _cpu(self) -> tuple[float, float]:
        times = self._process.cpu_times()
        user, system = times.user, times.system
        if self.include_children:
            user += getattr(times, "children_user", 0.0)
            system += getattr(times, "children_system", 0.0)
        return user, system

    def _sample(self) -> None:
        while not self._stop.wait(self.sample_interval):
            self._observe()

    def _observe(self) -> None:
        try:
            rss = self._process.memory_info().rss
        except psutil.Error:  # pragma: no cover - process vanishing under us
            return
        if rss > self._peak_rss:
            self._peak_rss = rss

    def start(self) -> ResourceMeter:
        """Begin the window (idempotent errors: a meter measures one window)."""
        if self._start is not None:
            raise RuntimeError("a ResourceMeter measures one window; create a new one")
        user, system = self._cpu()
        self._observe()
        self._start = (time.perf_counter(), user, system, _max_rss_bytes(_SELF), _max_rss_bytes(_CHILDREN))
        self._thread = threading.Thread(target=self._sample, name="dativo-resource-meter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Measurement:
        """End the window and return (and keep in ``result``) what it used."""
        if self._start is None:
            raise RuntimeError("ResourceMeter.stop() before start()")
        if self.result is not None:
            return self.result
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._observe()
        started, user0, system0, self_hwm0, child_hwm0 = self._start
        user, system = self._cpu()
        peak = self._peak_rss
        self_hwm = _max_rss_bytes(_SELF)
        if self_hwm > self_hwm0:  # the lifetime peak rose, so it was reached inside this window
            peak = max(peak, self_hwm)
        if self.include_children:
            child_hwm = _max_rss_bytes(_CHILDREN)
            if child_hwm > child_hwm0:  # a child that ran in the window set a new high-water mark
                peak = max(peak, child_hwm)
        self.result = Measurement(
            cpu_user_sec=max(0.0, user - user0),
            cpu_system_sec=max(0.0, system - system0),
            peak_rss_mb=peak / MB,
            wall_time_sec=time.perf_counter() - started,
        )
        return self.result

    def __enter__(self) -> ResourceMeter:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


_SELF = resource.RUSAGE_SELF if resource is not None else 0
_CHILDREN = resource.RUSAGE_CHILDREN if resource is not None else -1
