"""FinOpsMetrics: accumulation, exact cost arithmetic against the catalog, validation, persistence."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest

from dativo_ingest.errors import ConfigError, UsageError
from dativo_ingest.finops import FinOpsMetrics, PricingCatalog, get_recent_runs

GIB = 1024**3


def test_spec_quick_start_step_5_runs_as_written(workspace: Path, capsys: pytest.CaptureFixture) -> None:
    finops = FinOpsMetrics(tenant_id="acme", job_name="stripe-customers-ingest", cost_center="analytics")
    finops.start()
    finops.record_cpu_time(120.5)  # seconds
    finops.record_memory_usage(1024.0)  # MB
    finops.record_data_ingested(1024 * 1024 * 1024)  # 1GB
    finops.record_data_written(512 * 1024 * 1024)  # 512MB
    finops.record_api_calls(1000, api_type="stripe")
    summary = finops.finish()
    print(f"Total cost: ${summary['cost_breakdown_usd']['total']:.6f}")

    assert capsys.readouterr().out.startswith("Total cost: $0.1035")
    assert (workspace / ".dativo" / "dativo.db").is_file()  # finish() stored the run in the workspace
    assert get_recent_runs("acme")[0]["run_id"] == summary["run_id"]


def test_summary_has_the_spec_shape(workspace: Path) -> None:
    m = FinOpsMetrics("acme", "stripe-ingest", cost_center="analytics", store=False).start()
    m.record_cpu_time(10)
    summary = m.finish()
    assert set(summary) >= {
        "tenant_id",
        "job_name",
        "cost_center",
        "run_id",
        "start_time",
        "end_time",
        "execution_time_seconds",
        "resource_usage",
        "cost_breakdown_usd",
        "cost_per_metric",
    }
    assert set(summary["resource_usage"]) >= {
        "cpu_time_sec",
        "memory_peak_mb",
        "data_bytes_ingested",
        "data_bytes_written",
        "api_calls_count",
        "api_calls_by_type",
    }
    assert set(summary["cost_breakdown_usd"]) == {"compute", "storage", "network", "api", "total"}
    assert summary["start_time"] <= summary["end_time"]


def test_recordings_accumulate_and_memory_keeps_the_peak(workspace: Path) -> None:
    m = FinOpsMetrics("acme", "job", store=False).start()
    m.record_cpu_time(3600)
    m.record_cpu_time(3600)  # two CPU-hours cost twice one (the reference overwrote)
    m.record_memory_usage(512)
    m.record_memory_usage(2048)
    m.record_memory_usage(1024)
    m.record_data_ingested(GIB)
    m.record_data_ingested(GIB)
    m.record_data_written(100)
    m.record_data_written(28)
    m.record_api_calls(600, api_type="stripe")
    m.record_api_calls(400, api_type="stripe")
    m.record_api_calls(5)
    usage = m.finish()["resource_usage"]
    assert usage["cpu_time_sec"] == 7200
    assert usage["memory_peak_mb"] == 2048
    assert usage["data_bytes_ingested"] == 2 * GIB
    assert usage["data_bytes_written"] == 128
    assert usage["api_calls_count"] == 1005
    assert usage["api_calls_by_type"] == {"default": 5, "stripe": 1000}
    assert m.compute_cost_usd == pytest.approx(0.1, abs=1e-6)  # 2 vCPU-hours x $0.05 (+ tiny memory)


def test_cost_arithmetic_matches_the_catalog_exactly(workspace: Path) -> None:
    catalog = PricingCatalog.default()
    m = FinOpsMetrics("acme", "job", pricing=catalog, store=False).start()
    m.record_cpu_time(5400)  # 1.5 vCPU-hours
    m.record_data_ingested(3 * GIB)  # 3 GiB transferred
    m.record_data_written(2 * GIB)  # 2 GiB stored 30 of 30 days = 2 GiB-months
    m.record_api_calls(2500, api_type="stripe")  # 2.5 x 1000 calls
    summary = m.finish()
    rates = catalog.list_rates()
    expected = {  # no memory recorded, so compute is CPU only
        "compute": Decimal("1.5") * rates.compute,
        "storage": Decimal(2) * rates.storage,
        "network": Decimal(3) * rates.network,
        "api": Decimal("2.5") * rates.api["default"],
    }
    costs = summary["cost_breakdown_usd"]
    for key, value in expected.items():
        assert Decimal(repr(costs[key])) == value, key
    assert Decimal(repr(costs["total"])) == sum(expected.values())
    assert summary["cost_per_metric"]["cost_per_gb_ingested"] == pytest.approx(costs["total"] / 3, abs=1e-9)
    assert summary["cost_per_metric"]["cost_per_api_call"] == pytest.approx(costs["total"] / 2500, abs=1e-9)


def test_memory_is_priced_per_gib_hour_of_wall_time(workspace: Path) -> None:
    m = FinOpsMetrics("acme", "job", store=False).start()
    m.record_memory_usage(2048)
    summary = m.finish()
    hours = Decimal(repr(summary["execution_time_seconds"])) / 3600
    expected = (Decimal(2) * hours * PricingCatalog.default().list_rates().memory).quantize(Decimal("1e-9"))
    assert Decimal(repr(summary["cost_breakdown_usd"]["compute"])) == expected


def test_tenant_override_and_storage_period(workspace: Path) -> None:
    data = PricingCatalog.default().model_dump(mode="json")
    data["tenants"] = {
        "acme": {
            "rates": {"compute": {"unit": "vCPU-hour", "price": 0.04}},
            "api": {"stripe": {"unit": "1000 calls", "price": 0.002}},
            "storage_period_days": 90,
        }
    }
    m = FinOpsMetrics("acme", "job", pricing=data, store=False).start()
    m.record_cpu_time(3600)
    m.record_data_written(GIB)
    m.record_api_calls(1000, api_type="stripe")
    costs = m.finish()["cost_breakdown_usd"]
    assert costs["compute"] == pytest.approx(0.04, abs=1e-8)
    assert costs["storage"] == pytest.approx(0.023 * 3, abs=1e-12)  # 90 days = 3 months
    assert costs["api"] == 0.002
    other = FinOpsMetrics("globex", "job", pricing=data, store=False, storage_days=15).start()
    other.record_data_written(GIB)
    assert other.finish()["cost_breakdown_usd"]["storage"] == pytest.approx(0.0115, abs=1e-12)


def test_zero_usage_has_no_division_errors(workspace: Path) -> None:
    summary = FinOpsMetrics("acme", "job", store=False).start().finish()
    assert summary["cost_breakdown_usd"]["total"] == 0
    assert summary["cost_per_metric"] == {"cost_per_gb_ingested": None, "cost_per_api_call": None}


def test_nothing_is_written_before_finish_and_store_false_writes_nothing(workspace: Path) -> None:
    m = FinOpsMetrics("acme", "job")
    m.start()
    m.record_cpu_time(1)
    m.export_for_billing()
    assert not (workspace / ".dativo").exists()
    FinOpsMetrics("acme", "job", store=False).start().finish()
    assert not (workspace / ".dativo").exists()
    m.finish()
    assert (workspace / ".dativo" / "dativo.db").is_file()


def test_finish_is_idempotent_and_closes_the_run(workspace: Path) -> None:
    m = FinOpsMetrics("acme", "job").start()
    first = m.finish()
    assert m.finish() is first
    assert len(get_recent_runs("acme", "job")) == 1
    with pytest.raises(UsageError, match="finished"):
        m.record_cpu_time(1)


def test_finish_before_start_is_an_error(workspace: Path) -> None:
    with pytest.raises(UsageError, match=r"finish\(\) called before start\(\)"):
        FinOpsMetrics("acme", "job", store=False).finish()


@pytest.mark.parametrize(
    ("method", "value", "message"),
    [
        ("record_cpu_time", -1, "must not be negative"),
        ("record_cpu_time", "120", "must be a number, got str"),
        ("record_cpu_time", float("nan"), "finite"),
        ("record_cpu_time", True, "must be a number, got bool"),
        ("record_memory_usage", -0.5, "must not be negative"),
        ("record_memory_usage", None, "must be a number, got NoneType"),
        ("record_data_ingested", -10, "must not be negative"),
        ("record_data_ingested", 1.5, "whole number"),
        ("record_data_written", "1GB", "must be a number"),
        ("record_api_calls", -3, "must not be negative"),
        ("record_api_calls", float("inf"), "finite"),
    ],
)
def test_bad_usage_is_rejected_with_a_clear_error(
    workspace: Path, method: str, value: object, message: str
) -> None:
    m = FinOpsMetrics("acme", "job", store=False).start()
    with pytest.raises(UsageError, match=message) as info:
        getattr(m, method)(value)
    assert info.value.field and str(info.value).startswith(info.value.field)
    assert m.finish()["cost_breakdown_usd"]["total"] == 0  # nothing was recorded


def test_bad_names_and_pricing_are_rejected(workspace: Path) -> None:
    with pytest.raises(UsageError, match="tenant_id"):
        FinOpsMetrics("", "job")
    m = FinOpsMetrics("acme", "job", store=False).start()
    with pytest.raises(UsageError, match="api_type"):
        m.record_api_calls(1, api_type="")
    with pytest.raises(ConfigError, match="pricing"):
        FinOpsMetrics("acme", "job", pricing=42)  # type: ignore[arg-type]


def test_export_for_billing_lines_sum_to_the_total(workspace: Path) -> None:
    m = FinOpsMetrics("acme", "job", cost_center="analytics", store=False).start()
    m.record_cpu_time(3600)
    m.record_data_written(GIB)
    m.record_api_calls(2000, api_type="stripe")
    summary = m.finish()
    export = m.export_for_billing()
    assert export["summary"]["cost_center"] == "analytics"
    assert export["summary"]["status"] == "finished"
    items = export["line_items"]
    assert {i["charge"] for i in items} >= {"compute.cpu", "storage", "api.stripe"}
    total = sum(Decimal(repr(i["total_cost"])) for i in items)
    assert total == Decimal(repr(summary["cost_breakdown_usd"]["total"]))
    for item in items:
        assert math.isclose(item["quantity"] * item["unit_price"], item["total_cost"], abs_tol=1e-9)
