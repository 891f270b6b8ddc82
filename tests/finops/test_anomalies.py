"""Anomaly detection: the spec snippet, robust statistics, seasons, zero baselines, stored history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dativo_ingest.errors import UsageError
from dativo_ingest.finops import FinOpsMetrics, detect_anomalies, latest_anomalies
from dativo_ingest.store import MetadataStore

from .conftest import store_run


def _summary(
    cpu: float = 100.0,
    total: float = 0.01,
    ingested: int = 1024**3,
    calls: int = 1000,
    memory: float = 512.0,
    when: datetime | None = None,
) -> dict:
    data = {
        "resource_usage": {
            "cpu_time_sec": cpu,
            "memory_peak_mb": memory,
            "data_bytes_ingested": ingested,
            "api_calls_count": calls,
        },
        "cost_breakdown_usd": {"total": total},
        "cost_per_metric": {"cost_per_gb_ingested": total / (ingested / 1024**3) if ingested else None},
    }
    if when is not None:
        data["start_time"] = when.isoformat()
    return data


def test_spec_anomaly_snippet_runs_as_written(workspace: Path, capsys: pytest.CaptureFixture) -> None:
    finops = FinOpsMetrics("acme", "stripe-ingest", cost_center="analytics")
    finops.start()
    finops.record_cpu_time(10000.0)
    finops.record_data_ingested(1024**3)
    finops.record_api_calls(1000)
    historical_metrics = [
        {
            "resource_usage": {"cpu_time_sec": 100.0 + i},
            "cost_breakdown_usd": {"total": 0.01},
            "cost_per_metric": {"cost_per_gb_ingested": 0.001, "cost_per_api_call": 0.0001},
        }
        for i in range(10)
    ]
    alerts = []
    alert_oncall = alerts.append

    # Compare against historical metrics
    anomalies = finops.detect_anomalies(historical_metrics)

    for anomaly in anomalies:
        if anomaly["severity"] == "high":
            print(f"WARNING {anomaly['type']}: {anomaly['message']}")
            alert_oncall(anomaly)

    types = {a["type"] for a in alerts}
    assert {"cpu_spike", "cost_spike", "inefficiency"} <= types
    assert "WARNING cpu_spike: CPU time 10000.0 s is above the expected" in capsys.readouterr().out
    for anomaly in anomalies:
        assert set(anomaly) >= {"type", "severity", "metric", "value", "baseline", "score", "message"}


def test_normal_run_is_not_flagged() -> None:
    history = [_summary(cpu=100 + (i % 5) * 3, total=0.01 + (i % 3) * 0.0004) for i in range(20)]
    assert detect_anomalies(_summary(cpu=106, total=0.0104), history) == []


def test_drop_in_data_volume_is_flagged() -> None:
    history = [_summary(ingested=(1000 + (i % 4) * 20) * 1024**2) for i in range(15)]
    found = detect_anomalies(_summary(ingested=20 * 1024**2), history)
    drop = next(a for a in found if a["type"] == "data_volume_drop")
    assert drop["severity"] == "high" and drop["score"] < 0


def test_robust_to_earlier_outliers_in_history() -> None:
    history = [_summary(cpu=100 + (i % 4)) for i in range(20)]
    history[5] = _summary(cpu=5000)  # an old spike must not hide the next one (a mean+3sd would)
    history[12] = _summary(cpu=4000)
    found = detect_anomalies(_summary(cpu=400), history)
    assert any(a["type"] == "cpu_spike" for a in found)


def test_weekly_season_is_expected_not_flagged() -> None:
    start = datetime(2025, 1, 6, 2, tzinfo=UTC)  # a Monday
    history = []
    for day in range(42):
        when = start + timedelta(days=day)
        cpu = 30.0 if when.weekday() >= 5 else 300.0 + (day % 3) * 5
        history.append(_summary(cpu=cpu, when=when))
    saturday = start + timedelta(days=47)
    assert saturday.weekday() == 5
    assert not [
        a
        for a in detect_anomalies(_summary(cpu=31.0, when=saturday), history)
        if a["metric"] == "cpu_time_sec"
    ]
    weekday_level_on_saturday = detect_anomalies(_summary(cpu=300.0, when=saturday), history)
    spike = next(a for a in weekday_level_on_saturday if a["type"] == "cpu_spike")
    assert "weekly" in spike["method"]


def test_trend_is_followed() -> None:
    start = datetime(2025, 1, 6, 2, tzinfo=UTC)
    history = [_summary(cpu=100 * 1.02**d, when=start + timedelta(days=d)) for d in range(30)]
    expected_next = 100 * 1.02**30
    assert not detect_anomalies(_summary(cpu=expected_next, when=start + timedelta(days=30)), history)


@pytest.mark.parametrize("current_cpu", [0.0, 50.0])
def test_zero_baselines_do_not_divide_by_zero(current_cpu: float) -> None:
    history = [_summary(cpu=0.0, total=0.0, ingested=0, calls=0, memory=0.0) for _ in range(12)]
    found = detect_anomalies(_summary(cpu=current_cpu, total=0.0, ingested=0, calls=0, memory=0.0), history)
    assert [a["type"] for a in found] == ([] if current_cpu == 0 else ["cpu_spike"])
    for anomaly in found:
        assert anomaly["baseline"] == 0

    cost = detect_anomalies(_summary(total=5.0), [_summary(total=0.0) for _ in range(12)])
    spike = next(a for a in cost if a["type"] == "cost_spike")
    assert spike["baseline"] == 0 and "x (" not in spike["message"]  # no ratio to a zero baseline


def test_short_history_uses_a_conservative_fallback() -> None:
    history = [_summary(cpu=100.0), _summary(cpu=110.0)]
    assert not [a for a in detect_anomalies(_summary(cpu=160.0), history) if a["metric"] == "cpu_time_sec"]
    found = detect_anomalies(_summary(cpu=600.0), history)
    assert any(a["type"] == "cpu_spike" and a["method"] == "short-history" for a in found)
    assert detect_anomalies(_summary(cpu=600.0), []) == []


def test_malformed_history_entries_are_skipped() -> None:
    history = [{"resource_usage": {"cpu_time_sec": "n/a"}}, {}, *[_summary() for _ in range(8)]]
    assert detect_anomalies(_summary(), history) == []
    with pytest.raises(UsageError, match="list of run summaries"):
        FinOpsMetrics("acme", "job", store=False).detect_anomalies("not a list")  # type: ignore[arg-type]


def test_default_history_comes_from_the_store(store: MetadataStore) -> None:
    now = datetime.now(UTC)
    for day in range(1, 15):
        store_run(store, tenant="acme", job="orders", when=now - timedelta(days=day), cpu=100 + day % 3)
    store_run(store, tenant="acme", job="other", when=now - timedelta(days=1), cpu=1.0)  # another job
    m = FinOpsMetrics("acme", "orders")
    m.start()
    m.record_cpu_time(1000)
    m.record_data_ingested(1024**3)
    m.record_data_written(512 * 1024**2)
    m.record_api_calls(1000)
    m.record_memory_usage(512)
    found = m.detect_anomalies()
    assert any(a["type"] == "cpu_spike" for a in found)
    m.finish()
    assert {a["job_name"] for a in latest_anomalies("acme", since_hours=1)} == {"orders"}
    assert FinOpsMetrics("acme", "orders", store=False).start().detect_anomalies() == []
