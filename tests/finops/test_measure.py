"""Measured usage: real process CPU time (user + system) and peak RSS, recorded into the run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from dativo_ingest.finops import FinOpsMetrics, ResourceMeter

MB = 1024 * 1024


def _burn(seconds: float) -> None:
    """Spin until this thread has used ``seconds`` of CPU (independent clock: CLOCK_THREAD_CPUTIME_ID)."""
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        pass


def test_busy_loop_cpu_is_measured_within_tolerance(workspace: Path) -> None:
    m = FinOpsMetrics("acme", "job", store=False)
    with m.measure(include_children=False) as meter:
        _burn(0.6)
    measured = meter.result
    assert measured is not None
    assert 0.55 <= measured.cpu_time_sec <= 0.6 + 0.3
    assert m.cpu_time_sec == measured.cpu_time_sec
    summary = m.finish()
    assert summary["measured"] is True
    assert summary["resource_usage"]["cpu_time_sec"] == measured.cpu_time_sec


def test_sleeping_is_not_billed_as_cpu(workspace: Path) -> None:
    with ResourceMeter(include_children=False) as meter:
        time.sleep(0.4)
    assert meter.result is not None
    assert meter.result.wall_time_sec >= 0.4
    assert meter.result.cpu_time_sec < 0.15


def test_cpu_of_finished_child_processes_is_counted(workspace: Path) -> None:
    code = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"
    with ResourceMeter(include_children=True) as with_children:
        subprocess.run([sys.executable, "-c", code], check=True)
    with ResourceMeter(include_children=False) as without:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert with_children.result.cpu_time_sec >= 0.38  # kernel accounting has 10 ms ticks
    assert without.result.cpu_time_sec < 0.3


def test_peak_memory_of_an_allocation_is_recorded(workspace: Path) -> None:
    before = psutil.Process().memory_info().rss / MB
    m = FinOpsMetrics("acme", "job", store=False)
    with m.measure():
        block = b"x" * (200 * MB)
        time.sleep(0.25)
        del block
    assert m.memory_peak_mb >= before + 180


def test_peak_below_the_lifetime_high_water_mark_is_still_seen(workspace: Path) -> None:
    high = b"y" * (320 * MB)  # raise ru_maxrss first, then free it
    del high
    before = psutil.Process().memory_info().rss / MB
    with ResourceMeter(sample_interval=0.02) as meter:
        block = b"z" * (150 * MB)
        time.sleep(0.3)
        del block
    assert meter.result.peak_rss_mb >= before + 130


def test_start_measure_true_measures_until_finish(workspace: Path) -> None:
    m = FinOpsMetrics("acme", "job", store=False).start(measure=True)
    _burn(0.3)
    summary = m.finish()
    assert summary["measured"] is True
    assert summary["resource_usage"]["cpu_time_sec"] >= 0.28
    assert summary["resource_usage"]["memory_peak_mb"] > 10


def test_overlapping_measurements_are_refused(workspace: Path) -> None:
    from dativo_ingest.errors import UsageError

    m = FinOpsMetrics("acme", "job", store=False)
    with m.measure(), pytest.raises(UsageError, match="already in progress"), m.measure():
        pass
