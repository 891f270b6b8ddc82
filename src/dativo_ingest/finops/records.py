"""Mapping between a run's summary (the spec's dict) and its history rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from dativo_ingest.finops.calculator import Charge, cost_per_metric, from_nano, to_nano
from dativo_ingest.finops.pricing import Rates
from dativo_ingest.finops.usage import Usage

CATEGORIES = ("compute", "storage", "network", "api")


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a ``Z`` suffix."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def build_summary(
    *,
    run_id: str,
    tenant_id: str,
    job_name: str,
    cost_center: str | None,
    started_at: datetime,
    finished_at: datetime,
    usage: Usage,
    measured: bool,
    breakdown: dict[str, Decimal],
    rates: Rates,
    storage_days: float,
) -> dict[str, Any]:
    """The dict :meth:`FinOpsMetrics.finish` returns."""
    per_metric = cost_per_metric(breakdown["total"], usage)
    return {
        "run_id": run_id,
        "tenant_id": tenant_id,
        "job_name": job_name,
        "cost_center": cost_center,
        "start_time": iso(started_at),
        "end_time": iso(finished_at),
        "timestamp": iso(finished_at),
        "execution_time_seconds": usage.wall_time_sec,
        "measured": measured,
        "resource_usage": usage.to_dict(),
        "cost_breakdown_usd": {k: float(v) for k, v in breakdown.items()},
        "cost_per_metric": {k: _num(v) for k, v in per_metric.items()},
        "pricing": {
            "catalog": rates.catalog,
            "version": rates.version,
            "currency": rates.currency,
            "storage_days": storage_days,
        },
    }


def run_row(
    summary: dict[str, Any], breakdown: dict[str, Decimal], started: datetime, finished: datetime
) -> dict[str, Any]:
    """The ``finops_runs`` row of a finished run."""
    usage = summary["resource_usage"]
    return {
        "run_id": summary["run_id"],
        "tenant_id": summary["tenant_id"],
        "job_name": summary["job_name"],
        "cost_center": summary["cost_center"],
        "started_at": started,
        "finished_at": finished,
        "execution_time_seconds": summary["execution_time_seconds"],
        "measured": summary["measured"],
        "cpu_time_sec": usage["cpu_time_sec"],
        "memory_peak_mb": usage["memory_peak_mb"],
        "data_bytes_ingested": usage["data_bytes_ingested"],
        "data_bytes_written": usage["data_bytes_written"],
        "api_calls_count": usage["api_calls_count"],
        "api_calls_by_type": usage["api_calls_by_type"],
        "storage_days": summary["pricing"]["storage_days"],
        **{f"{k}_nusd": to_nano(breakdown[k]) for k in (*CATEGORIES, "total")},
        "currency": summary["pricing"]["currency"],
        "pricing_catalog": summary["pricing"]["catalog"],
        "pricing_version": summary["pricing"]["version"],
    }


def charge_rows(charges: list[Charge]) -> list[dict[str, Any]]:
    """The ``finops_charges`` rows of a run."""
    return [
        {
            "charge": c.key,
            "category": c.category,
            "quantity": format(c.quantity, "f"),
            "unit": c.unit,
            "unit_price": format(c.unit_price, "f"),
            "list_unit_price": format(c.list_unit_price, "f"),
            "cost_nusd": to_nano(c.cost),
            "list_cost_nusd": to_nano(c.list_cost),
            "description": c.description,
        }
        for c in charges
    ]


def summary_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored run as the summary :meth:`FinOpsMetrics.finish` returned."""
    usage = Usage(
        cpu_time_sec=row["cpu_time_sec"],
        memory_peak_mb=row["memory_peak_mb"],
        wall_time_sec=row["execution_time_seconds"],
        data_bytes_ingested=int(row["data_bytes_ingested"]),
        data_bytes_written=int(row["data_bytes_written"]),
        api_calls={k: int(v) for k, v in (row["api_calls_by_type"] or {}).items()},
    )
    breakdown = {k: from_nano(row[f"{k}_nusd"]) for k in (*CATEGORIES, "total")}
    per_metric = cost_per_metric(breakdown["total"], usage)
    return {
        "run_id": row["run_id"],
        "tenant_id": row["tenant_id"],
        "job_name": row["job_name"],
        "cost_center": row["cost_center"],
        "start_time": iso(row["started_at"]),
        "end_time": iso(row["finished_at"]),
        "timestamp": iso(row["finished_at"]),
        "execution_time_seconds": row["execution_time_seconds"],
        "measured": bool(row["measured"]),
        "resource_usage": usage.to_dict(),
        "cost_breakdown_usd": {k: float(v) for k, v in breakdown.items()},
        "cost_per_metric": {k: _num(v) for k, v in per_metric.items()},
        "pricing": {
            "catalog": row["pricing_catalog"],
            "version": row["pricing_version"],
            "currency": row["currency"],
            "storage_days": row["storage_days"],
        },
    }
