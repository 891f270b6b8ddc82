"""Many writers upserting the same lineage node at once (every run of a table upserts its dataset node):
none fails and no writer's attributes are lost, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from dativo_ingest.lineage_graph.model import LineageNode
from dativo_ingest.store import MetadataStore
from dativo_ingest.store.lineage.repository import GraphRepository

WRITERS = 12


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"t_shared_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine("postgresql+psycopg://" + base.split("://", 1)[1])
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        MetadataStore.dispose_all()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@pytest.mark.parametrize("exists", [False, True], ids=["new-node", "stored-node"])
def test_concurrent_upserts_of_one_node_all_succeed_and_merge(store_url: str, exists: bool) -> None:
    repo = GraphRepository(MetadataStore(store_url))
    node_id = f"dataset://bench/{uuid.uuid4().hex}"
    if exists:
        repo.upsert_node(LineageNode(node_id, "dataset", "shared", {"first": True}))
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def upsert(writer: int) -> None:
        start.wait()
        try:
            repo.upsert_node(LineageNode(node_id, "dataset", "shared", {f"w{writer}": writer}))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upsert, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    stored = repo.get_node(node_id)
    assert stored is not None
    expected = {f"w{w}": w for w in range(WRITERS)} | ({"first": True} if exists else {})
    assert stored.attributes == expected, "a writer's attributes were lost"
