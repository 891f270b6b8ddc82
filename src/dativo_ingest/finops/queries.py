"""Read-side FinOps services over the stored history: summaries, reports, anomalies, FOCUS export.

These are what the CLI and the AI context API call; each takes ``store`` like
:class:`~dativo_ingest.finops.tracker.FinOpsMetrics` (``None`` = the current workspace's store).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dativo_ingest.finops.anomalies as _anomalies
import dativo_ingest.finops.focus as _focus
from dativo_ingest.errors import UsageError
from dativo_ingest.finops.calculator import from_nano
from dativo_ingest.finops.periods import month_bounds
from dativo_ingest.finops.pricing import PricingCatalog, resolve_catalog
from dativo_ingest.finops.records import CATEGORIES, iso, summary_from_row
from dativo_ingest.finops.tracker import StoreChoice, resolve_store
from dativo_ingest.store import finops as history
from dativo_ingest.workspace import Workspace

GROUP_LABELS = {"tenant": ("tenant_id",), "job": ("tenant_id", "job_name"), "cost_center": ("cost_center",)}


def _store(store: StoreChoice) -> Any:
    """The store to read (``None``: the workspace has no history yet, so every query is empty)."""
    if store is False:
        raise UsageError("a query needs a metadata store, got False", field="store")
    return resolve_store(store, reading=True)


def _since(since_hours: float | None, now: datetime | None) -> datetime | None:
    if since_hours is None:
        return None
    if isinstance(since_hours, bool) or not isinstance(since_hours, int | float) or since_hours <= 0:
        raise UsageError(f"must be a positive number, got {since_hours!r}", field="since_hours")
    return (now or datetime.now(UTC)) - timedelta(hours=since_hours)


def _money(row: dict[str, Any]) -> dict[str, Decimal]:
    return {k: from_nano(row[f"{k}_nusd"]) for k in (*CATEGORIES, "total")}


def cost_report(
    by: str = "tenant",
    *,
    since_hours: float | None = None,
    tenant_id: str | None = None,
    store: StoreChoice = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Costs grouped ``by`` tenant, job or cost_center; ``totals`` equal the sum of all runs exactly.

    Money values are :class:`~decimal.Decimal` USD (exact); renderers format them.
    """
    if by not in GROUP_LABELS:
        raise UsageError(f"must be one of tenant, job, cost_center; got {by!r}", field="by")
    since = _since(since_hours, now)
    rows = history.aggregate(_store(store), by, since=since, tenant_id=tenant_id)
    groups = []
    for row in rows:
        groups.append(
            {
                **{key: row[key] for key in GROUP_LABELS[by]},
                "runs": row["runs"],
                "cpu_time_sec": row["cpu_time_sec"],
                "data_bytes_ingested": row["data_bytes_ingested"],
                "data_bytes_written": row["data_bytes_written"],
                "api_calls_count": row["api_calls_count"],
                "cost_usd": _money(row),
            }
        )
    totals = {k: sum((g["cost_usd"][k] for g in groups), Decimal(0)) for k in (*CATEGORIES, "total")}
    return {
        "by": by,
        "since": iso(since) if since else None,
        "tenant_id": tenant_id,
        "currency": "USD",
        "groups": groups,
        "runs": sum(g["runs"] for g in groups),
        "totals_usd": totals,
    }


def get_recent_runs(
    tenant_id: str | None = None,
    job_name: str | None = None,
    *,
    limit: int = 10,
    since_hours: float | None = None,
    store: StoreChoice = None,
) -> list[dict[str, Any]]:
    """The latest finished runs (newest first) as the summaries ``finish()`` returned."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UsageError(f"must be a positive integer, got {limit!r}", field="limit")
    rows = history.select_runs(
        _store(store),
        tenant_id=tenant_id,
        job_name=job_name,
        since=_since(since_hours, None),
        limit=limit,
        newest_first=True,
    )
    return [summary_from_row(r) for r in rows]


def get_cost_summary(
    tenant_id: str | None = None,
    since_hours: float = 24 * 30,
    *,
    job_name: str | None = None,
    store: StoreChoice = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Costs of the last ``since_hours``: totals, breakdown, usage, per job and per cost centre (floats)."""
    resolved = _store(store)
    now = now or datetime.now(UTC)
    since = _since(since_hours, now)
    runs = history.select_runs(resolved, tenant_id=tenant_id, job_name=job_name, since=since)
    totals = dict.fromkeys((*CATEGORIES, "total"), Decimal(0))
    jobs: dict[tuple[str, str], dict[str, Any]] = {}
    centres: dict[str | None, dict[str, Any]] = {}
    for run in runs:
        money = _money(run)
        for key in totals:
            totals[key] += money[key]
        job = jobs.setdefault(
            (run["tenant_id"], run["job_name"]),
            {
                "tenant_id": run["tenant_id"],
                "job_name": run["job_name"],
                "runs": 0,
                "total_cost_usd": Decimal(0),
                "last_run_at": None,
            },
        )
        job["runs"] += 1
        job["total_cost_usd"] += money["total"]
        job["last_run_at"] = iso(run["started_at"])
        centre = centres.setdefault(
            run["cost_center"], {"cost_center": run["cost_center"], "runs": 0, "total_cost_usd": Decimal(0)}
        )
        centre["runs"] += 1
        centre["total_cost_usd"] += money["total"]
    for item in (*jobs.values(), *centres.values()):
        item["total_cost_usd"] = float(item["total_cost_usd"])
    return {
        "tenant_id": tenant_id,
        "job_name": job_name,
        "time_range_hours": since_hours,
        "since": iso(since) if since else None,
        "until": iso(now),
        "currency": "USD",
        "run_count": len(runs),
        "total_cost_usd": float(totals["total"]),
        "cost_breakdown_usd": {k: float(v) for k, v in totals.items()},
        "resource_usage": {
            "cpu_time_sec": sum(r["cpu_time_sec"] for r in runs),
            "memory_peak_mb": max((r["memory_peak_mb"] for r in runs), default=0.0),
            "data_bytes_ingested": sum(int(r["data_bytes_ingested"]) for r in runs),
            "data_bytes_written": sum(int(r["data_bytes_written"]) for r in runs),
            "api_calls_count": sum(int(r["api_calls_count"]) for r in runs),
        },
        "by_job": sorted(jobs.values(), key=lambda j: (-j["total_cost_usd"], j["tenant_id"], j["job_name"])),
        "by_cost_center": sorted(
            centres.values(), key=lambda c: (-c["total_cost_usd"], c["cost_center"] or "")
        ),
    }


def latest_anomalies(
    tenant_id: str | None = None,
    since_hours: float = 24 * 7,
    *,
    store: StoreChoice = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Anomalies of each job's latest run in the window, judged against that job's earlier runs."""
    resolved = _store(store)
    runs = history.select_runs(
        resolved, tenant_id=tenant_id, since=_since(since_hours, now), newest_first=True
    )
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        latest.setdefault((run["tenant_id"], run["job_name"]), run)
    findings = []
    for (tenant, job), run in sorted(latest.items()):
        earlier = history.select_runs(
            resolved,
            tenant_id=tenant,
            job_name=job,
            until=run["started_at"],
            since=run["started_at"] - timedelta(days=_anomalies.WINDOW_DAYS),
            exclude_run_id=run["run_id"],
            limit=_anomalies.WINDOW_RUNS,
            newest_first=True,
        )
        current = summary_from_row(run)
        for finding in _anomalies.detect(current, [summary_from_row(r) for r in reversed(earlier)]):
            findings.append(
                {
                    "tenant_id": tenant,
                    "job_name": job,
                    "run_id": run["run_id"],
                    "run_started_at": current["start_time"],
                    **finding,
                }
            )
    return findings


def export_focus(
    period: str,
    out: str | Path,
    *,
    tenant_id: str | None = None,
    pricing: PricingCatalog | dict | str | None = None,
    store: StoreChoice = None,
    focus_version: str = _focus.DEFAULT_VERSION,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write the FOCUS rows of month ``period`` (``YYYY-MM``) to ``out`` (.csv or .parquet).

    ``focus_version`` is ``1.2`` (default) or ``1.3``; a 1.3 export also writes its dataset metadata
    to ``<out>.metadata.json`` (``now``, default the current time, dates it).
    """
    version = _focus.check_version(focus_version)
    start, end = month_bounds(period)
    suffix = Path(out).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UsageError(f"must end in .csv or .parquet, got {Path(out).name!r}", field="out")
    catalog = resolve_catalog(pricing, workspace_root=Workspace.current().root)
    charges = history.select_charges(_store(store), since=start, until=end, tenant_id=tenant_id)
    rows = _focus.focus_rows(charges, start, end, catalog.billing, version=version)
    metadata = None
    if version == "1.3":
        metadata = _focus.dataset_metadata(
            catalog.billing, start, end, generated_at=now or datetime.now(UTC), tenant_id=tenant_id
        )
    path = _focus.write(rows, out, version=version, metadata=metadata)
    total = sum((r["BilledCost"] for r in rows), Decimal(0))
    result: dict[str, Any] = {
        "path": str(path),
        "rows": len(rows),
        "period": period,
        "focus_version": version,
        "billed_cost_usd": total,
        "runs": len({r["x_RunId"] for r in rows}),
    }
    if metadata is not None:
        result["metadata_path"] = str(_focus.metadata_path(path))
    return result
