"""Run history, `dativo finops report` totals, `dativo finops export` FOCUS 1.2 files, PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.finops import FinOpsMetrics, cost_report, get_cost_summary, get_recent_runs
from dativo_ingest.store import MetadataStore

from ..conftest import reference_dir
from .conftest import store_run

SERVICE_CATEGORIES = {
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Multicloud",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
}
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _finished_runs(workspace: Path) -> list[dict]:
    """Six real runs across two tenants, three jobs and two cost centres (one without)."""
    plan = [
        ("acme", "stripe", "analytics", 120.5, 3),
        ("acme", "stripe", "analytics", 60, 1),
        ("acme", "orders", "ops", 30, 2),
        ("acme", "orders", None, 10, 0),
        ("globex", "stripe", "analytics", 7, 5),
        ("globex", "hubspot", "ops", 0, 0),
    ]
    summaries = []
    for tenant, job, centre, cpu, gib in plan:
        m = FinOpsMetrics(tenant, job, cost_center=centre).start()
        m.record_cpu_time(cpu)
        m.record_data_ingested(gib * 1024**3)
        m.record_data_written(gib * 256 * 1024**2)
        m.record_api_calls(gib * 700, api_type="stripe" if job == "stripe" else None)
        m.record_memory_usage(256 + gib)
        summaries.append(m.finish())
    return summaries


def _exact(value: float) -> Decimal:
    return Decimal(repr(value))


@pytest.mark.parametrize("by", ["tenant", "job", "cost_center"])
def test_report_totals_reconcile_with_the_runs(workspace: Path, by: str) -> None:
    runs = _finished_runs(workspace)
    run_total = sum(_exact(s["cost_breakdown_usd"]["total"]) for s in runs)
    report = cost_report(by)
    assert report["runs"] == len(runs)
    assert report["totals_usd"]["total"] == run_total
    assert sum(g["cost_usd"]["total"] for g in report["groups"]) == run_total
    for key in ("compute", "storage", "network", "api"):
        assert report["totals_usd"][key] == sum(_exact(s["cost_breakdown_usd"][key]) for s in runs)
    if by == "cost_center":
        assert [g["cost_center"] for g in report["groups"]].count(None) == 1


def test_cli_report_csv_json_and_table(workspace: Path, capsys: pytest.CaptureFixture) -> None:
    runs = _finished_runs(workspace)
    run_total = sum(_exact(s["cost_breakdown_usd"]["total"]) for s in runs)

    assert main(["finops", "report", "--by", "job", "--since", "30d", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4  # (acme, orders), (acme, stripe), (globex, hubspot), (globex, stripe)
    assert sum(Decimal(r["total_usd"]) for r in rows) == run_total
    assert sum(int(r["runs"]) for r in rows) == len(runs)

    assert main(["finops", "report", "--by", "tenant", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [g["tenant_id"] for g in data["groups"]] == ["acme", "globex"]
    assert data["totals_usd"]["total"] == pytest.approx(float(run_total), abs=1e-9)

    assert main(["finops", "report", "--by", "cost_center"]) == 0
    table = capsys.readouterr().out
    assert "TOTAL" in table and format(run_total, "f") in table and "(none)" in table


def test_since_filters_on_the_run_start(store: MetadataStore) -> None:
    now = datetime.now(UTC)
    old = store_run(store, tenant="acme", job="stripe", when=now - timedelta(days=40))
    new = store_run(store, tenant="acme", job="stripe", when=now - timedelta(days=2))
    report = cost_report("tenant", since_hours=30 * 24)
    assert report["runs"] == 1
    assert report["totals_usd"]["total"] == _exact(new["cost_breakdown_usd"]["total"])
    summary = get_cost_summary("acme", since_hours=24 * 60)
    assert summary["run_count"] == 2
    expected = _exact(old["cost_breakdown_usd"]["total"]) + _exact(new["cost_breakdown_usd"]["total"])
    assert _exact(summary["total_cost_usd"]) == expected
    assert summary["by_job"][0]["job_name"] == "stripe"
    assert [r["run_id"] for r in get_recent_runs("acme", "stripe", limit=5)] == [new["run_id"], old["run_id"]]
    assert get_recent_runs("acme", "stripe", limit=1)[0] == new  # stored summary == what finish() returned


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["finops", "report", "--by", "region"], "by: must be one of tenant, job, cost_center"),
        (["finops", "report", "--since", "thirty"], "since: must look like 12h, 30d or 2w"),
        (["finops", "report", "--format", "xml"], "format: must be table, csv or json"),
        (["finops", "export", "--period", "2025-13", "--out", "x.csv"], "period: must be a month as YYYY-MM"),
        (["finops", "export", "--period", "2025-01", "--out", "x.json"], "out: must end in .csv or .parquet"),
        (["finops", "export", "--format", "cur", "--period", "2025-01", "--out", "x.csv"], "must be focus"),
    ],
)
def test_cli_bad_input_is_one_clear_line(
    workspace: Path, capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def _mandatory_columns() -> list[dict[str, str]]:
    with (reference_dir("focus") / "focus_1.2_columns.csv").open(encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["level"] == "Mandatory"]


def _check_focus_row(row: dict[str, str], mandatory: list[dict[str, str]], period: tuple[str, str]) -> None:
    for column in mandatory:
        name, value = column["column"], row[column["column"]]
        if column["not_null_unconditional"] == "not null":
            assert value != "", name
        if value and column["type"] == "Decimal":
            Decimal(value)
        if value and column["type"] == "DateTime":
            assert DATETIME.match(value), (name, value)
    assert row["ChargeCategory"] in {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
    assert row["ChargeClass"] in {"", "Correction"}
    assert re.fullmatch(r"[A-Z]{3}", row["BillingCurrency"])
    assert row["ServiceCategory"] in SERVICE_CATEGORIES
    assert (row["BillingPeriodStart"], row["BillingPeriodEnd"]) == period
    assert period[0] <= row["ChargePeriodStart"] < row["ChargePeriodEnd"] <= period[1]
    assert Decimal(row["BilledCost"]) == Decimal(row["EffectiveCost"]) == Decimal(row["ContractedCost"])
    quantity = Decimal(row["PricingQuantity"])
    assert Decimal(row["ListCost"]) == (quantity * Decimal(row["ListUnitPrice"])).quantize(Decimal("1e-9"))
    assert Decimal(row["ContractedCost"]) == (quantity * Decimal(row["ContractedUnitPrice"])).quantize(
        Decimal("1e-9")
    )
    assert row["ChargeFrequency"] == "Usage-Based" and row["PricingCategory"] == "Standard"
    tags = json.loads(row["Tags"])
    assert tags["tenant_id"] == row["SubAccountId"] and tags["job_name"] == row["x_JobName"]
    assert tags.get("cost_center") == (row["x_CostCenter"] or None)


def test_focus_csv_has_every_mandatory_column_with_valid_values(
    workspace: Path, capsys: pytest.CaptureFixture
) -> None:
    runs = _finished_runs(workspace)
    period = runs[0]["start_time"][:7]
    out = workspace / "billing" / f"focus-{period}.csv"
    assert main(["finops", "export", "--format", "focus", "--period", period, "--out", str(out)]) == 0
    assert "FOCUS 1.2 rows" in capsys.readouterr().out
    mandatory = _mandatory_columns()
    assert len(mandatory) == 21
    with out.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert {c["column"] for c in mandatory} <= set(reader.fieldnames or [])
        rows = list(reader)
    year, month = map(int, period.split("-"))
    bounds = (f"{period}-01T00:00:00Z", f"{year + month // 12:04d}-{month % 12 + 1:02d}-01T00:00:00Z")
    for row in rows:
        _check_focus_row(row, mandatory, bounds)
    assert sum(Decimal(r["BilledCost"]) for r in rows) == sum(
        _exact(s["cost_breakdown_usd"]["total"]) for s in runs
    )
    exported = {r["x_RunId"] for r in rows}
    assert {s["run_id"] for s in runs if s["cost_breakdown_usd"]["total"]} <= exported
    assert exported <= {s["run_id"] for s in runs}
    first = out.read_bytes()
    assert main(["finops", "export", "--format", "focus", "--period", period, "--out", str(out)]) == 0
    assert out.read_bytes() == first  # deterministic


def test_focus_parquet_types(workspace: Path) -> None:
    runs = _finished_runs(workspace)
    period = runs[0]["start_time"][:7]
    out = workspace / "focus.parquet"
    assert main(["finops", "export", "--format", "focus", "--period", period, "--out", str(out)]) == 0
    table = pq.read_table(out)
    for column in _mandatory_columns():
        field = table.schema.field(column["column"])
        if column["type"] == "Decimal":
            assert pa.types.is_decimal(field.type), field
        elif column["type"] == "DateTime":
            assert pa.types.is_timestamp(field.type) and field.type.tz == "UTC", field
        else:
            assert pa.types.is_string(field.type), field
        if column["not_null_unconditional"] == "not null":
            assert table.column(field.name).null_count == 0, field
    assert sum(table.column("BilledCost").to_pylist()) == sum(
        _exact(s["cost_breakdown_usd"]["total"]) for s in runs
    )


def test_export_of_an_empty_month_has_a_header_only(workspace: Path) -> None:
    out = workspace / "empty.csv"
    assert main(["finops", "export", "--period", "2001-02", "--out", str(out)]) == 0
    header = out.read_text(encoding="utf-8").splitlines()
    assert len(header) == 1 and header[0].startswith("BilledCost,")


@pytest.mark.postgres
def test_history_on_postgresql(workspace: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> None:
    url = postgres_url
    monkeypatch.setenv("DATIVO_DATABASE_URL", url)
    tenant = f"pg-{uuid.uuid4().hex[:10]}"
    store = MetadataStore(url)
    assert store.dialect == "postgresql"
    now = datetime.now(UTC)
    try:
        stored = [
            store_run(
                store,
                tenant=tenant,
                job="stripe",
                when=now - timedelta(days=d),
                cpu=100 + d,
                cost_center="analytics",
            )
            for d in range(1, 8)
        ]
        m = FinOpsMetrics(tenant, "stripe", cost_center="analytics").start()
        m.record_cpu_time(5000)
        m.record_data_ingested(1024**3)
        summary = m.finish()
        assert any(a["type"] == "cpu_spike" for a in m.detect_anomalies())
        report = cost_report("job", tenant_id=tenant)
        total = sum(_exact(s["cost_breakdown_usd"]["total"]) for s in [*stored, summary])
        assert report["runs"] == 8 and report["totals_usd"]["total"] == total
        assert get_recent_runs(tenant, limit=1)[0] == summary
        assert get_recent_runs(tenant, limit=8)[-1]["start_time"] == stored[-1]["start_time"]
    finally:
        from dativo_ingest.store.finops import finops_runs

        with store.begin() as conn:
            conn.execute(finops_runs.delete().where(finops_runs.c.tenant_id == tenant))


def test_reading_an_empty_workspace_creates_nothing(workspace: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["finops", "report", "--by", "job"]) == 0
    assert "no finished runs recorded" in capsys.readouterr().out
    assert get_cost_summary("acme")["run_count"] == 0
    assert FinOpsMetrics("acme", "job").start().detect_anomalies() == []
    assert not (workspace / ".dativo").exists()
