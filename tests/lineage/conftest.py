"""Lineage fixtures: a tracker on SQLite always, and on PostgreSQL (own schema) when configured."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dativo_ingest.config import AssetDefinition
from dativo_ingest.lineage import LineageTracker
from dativo_ingest.store.database import MetadataStore

HERE = Path(__file__).parent
QUICKSTART_ASSET = HERE / "fixtures" / "customers.yaml"


def _pg_driver_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, workspace: Path) -> Iterator[str]:
    """A metadata-store URL: the workspace's SQLite file, or a fresh schema on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{workspace / '.dativo' / 'dativo.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"lineage_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg_driver_url(base))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        MetadataStore.dispose_all()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def tracker(store_url: str, workspace: Path) -> LineageTracker:
    return LineageTracker(store_url, workspace=workspace, openlineage=False)


@pytest.fixture
def asset() -> AssetDefinition:
    return AssetDefinition.from_yaml(QUICKSTART_ASSET)


def build_pipeline(tracker: LineageTracker, asset: AssetDefinition) -> dict[str, object]:
    """The spec's Quick Start graph: source -> asset -> transformation -> Iceberg target."""
    source = tracker.add_source_node("stripe", "customers")
    contract = tracker.add_asset_node(asset)
    step = tracker.add_transformation_node("schema_validation")
    target = tracker.add_target_node("iceberg", "bronze", "stripe_customers")
    tracker.add_edge(source, contract, "validates_against")
    tracker.add_edge(contract, step, "applies")
    tracker.add_edge(step, target, "writes_to")
    return {"source": source, "asset": contract, "step": step, "target": target}
