"""FinOps fixtures: a SQLite store per test and a helper that stores runs at chosen times."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dativo_ingest.finops.calculator import breakdown, price_usage
from dativo_ingest.finops.pricing import PricingCatalog
from dativo_ingest.finops.records import build_summary, charge_rows, run_row
from dativo_ingest.finops.usage import Usage
from dativo_ingest.store import MetadataStore
from dativo_ingest.store import finops as history


@pytest.fixture
def store(workspace: Path) -> MetadataStore:
    """The test workspace's own metadata store (SQLite under .dativo/)."""
    return MetadataStore.for_workspace(workspace)


def store_run(
    store: MetadataStore,
    *,
    tenant: str,
    job: str,
    when: datetime,
    cpu: float = 100.0,
    memory: float = 512.0,
    ingested: int = 1024**3,
    written: int = 512 * 1024**2,
    calls: int = 1000,
    cost_center: str | None = None,
    run_id: str | None = None,
) -> dict:
    """Price and store one finished run that started at ``when``; returns its summary."""
    catalog = PricingCatalog.default()
    rates = catalog.rates_for(tenant)
    usage = Usage(
        cpu_time_sec=cpu,
        memory_peak_mb=memory,
        wall_time_sec=cpu * 1.25,
        data_bytes_ingested=ingested,
        data_bytes_written=written,
        api_calls={"default": calls} if calls else {},
    )
    charges = price_usage(usage, rates, catalog.list_rates())
    costs = breakdown(charges)
    end = when + timedelta(seconds=usage.wall_time_sec)
    summary = build_summary(
        run_id=run_id or f"{tenant}-{job}-{when.timestamp():.0f}",
        tenant_id=tenant,
        job_name=job,
        cost_center=cost_center,
        started_at=when,
        finished_at=end,
        usage=usage,
        measured=False,
        breakdown=costs,
        rates=rates,
        storage_days=rates.storage_period_days,
    )
    history.insert_run(store, run_row(summary, costs, when, end), charge_rows(charges))
    return summary
