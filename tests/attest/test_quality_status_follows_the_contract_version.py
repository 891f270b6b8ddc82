"""The latest quality status is the one of the contract version tested last: a check that a new version
removed no longer shows (and no longer keeps the asset failing)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dativo_ingest.store import quality
from dativo_ingest.store.database import MetadataStore


def _row(version: str, check: str, status: str) -> dict:
    return {
        "recorded_at": datetime.now(UTC),
        "contract_id": "orders",
        "contract_version": version,
        "source_type": "shop",
        "object_name": "orders",
        "check_id": check,
        "kind": check.split(":")[0],
        "column_name": check.split(":")[1],
        "severity": "error",
        "status": status,
        "rows_checked": 10,
        "failed": 0 if status == "passed" else 3,
        "origin": "test",
        "location": "db/public.orders",
        "run_id": version,
    }


def test_a_check_removed_by_a_new_version_leaves_the_status(workspace: Path) -> None:
    store = MetadataStore.for_workspace()
    quality.insert_results(
        store, [_row("1.0.0", "range:amount", "failed"), _row("1.0.0", "unique:id", "passed")]
    )
    quality.insert_results(store, [_row("2.0.0", "unique:id", "passed")])
    latest = quality.latest(store, source_type="shop", object_name="orders")
    assert [(r["check_id"], r["contract_version"]) for r in latest] == [("unique:id", "2.0.0")]
