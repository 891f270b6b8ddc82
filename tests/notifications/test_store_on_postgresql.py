"""Deliveries, attempts and run history on PostgreSQL (own schema per test, dropped after)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dativo_ingest.notifications import dispatch, events
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.sla import check_contract
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.notifications import list_deliveries
from dativo_ingest.store.run_history import RunRecord, record_run
from dativo_ingest.workspace import Workspace
from tests.ingest.helpers import CUSTOMERS_CONTRACT
from tests.notifications.helpers import FAST_RETRY, write_workspace_config
from tests.receivers import Receiver


@pytest.fixture
def pg_store_url(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    schema = f"t_notify_{uuid.uuid4().hex[:10]}"
    admin = create_engine("postgresql+psycopg://" + postgres_url.split("://", 1)[1])
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    monkeypatch.setenv("DATIVO_DATABASE_URL", url)
    try:
        yield url
    finally:
        MetadataStore.dispose_all()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_deliveries_and_sla_history_on_postgresql(
    workspace: Path, pg_store_url: str, receiver: Receiver
) -> None:
    store = MetadataStore(pg_store_url)
    assert store.dialect == "postgresql"
    receiver.plan = [500]
    write_workspace_config(
        workspace,
        {
            "channels": {"ops": {"type": "webhook", "url": receiver.url()}},
            "events": {"sla_breached": {}},
            "retry": FAST_RETRY,
        },
    )
    asset = AssetDefinition.from_dict(
        {**CUSTOMERS_CONTRACT, "slaProperties": [{"property": "freshness", "value": 2, "unit": "h"}]}
    )
    now = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    record_run(
        store,
        RunRecord(
            "pg-run-1",
            "acme",
            "customers",
            "success",
            now - timedelta(hours=3, minutes=1),
            now - timedelta(hours=3),
            "stripe-customers-001",
            "stripe",
            "customers",
        ),
    )
    report = check_contract(store, asset, now=now)
    (breach,) = report["breaches"]
    assert breach["run_id"] == "pg-run-1" and breach["late_by_seconds"] == 3600

    assert dispatch(events.sla_breached(asset, breach), workspace=Workspace(workspace)).wait(10)
    (row,) = list_deliveries(store)
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    assert [a["detail"] for a in row["attempts_detail"]] == ["HTTP 500", "HTTP 200"]
    assert json.loads(receiver.requests[-1].body)["details"]["kind"] == "stale"
