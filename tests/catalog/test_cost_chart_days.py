"""The runs page's cost series spans every day from the first run to the last, so the chart's axis keeps
the gaps between runs (days without runs are there, with no cost)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from dativo_ingest.ai_context_api import AIContextAPI
from dativo_ingest.catalog_pages import CatalogPages
from dativo_ingest.store.database import MetadataStore
from tests.finops.conftest import store_run


def test_days_without_runs_stay_on_the_cost_axis(workspace: Path) -> None:
    store = MetadataStore.for_workspace(workspace)
    first = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=5)
    store_run(store, tenant="acme", job="orders", when=first)
    store_run(store, tenant="acme", job="orders", when=first + timedelta(days=4))
    page = CatalogPages(AIContextAPI(store=store)).runs("catalog-admin")
    days = page["series"]["days"]
    assert days == [(first + timedelta(days=n)).date().isoformat() for n in range(5)]
    costs = page["series"]["by"]["job"]["acme/orders"]
    assert set(costs) == {days[0], days[4]}  # the days between carry no cost (the chart draws them as 0)
