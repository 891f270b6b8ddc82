"""The context request path's caches and group-committed audit writes keep every guarantee:
each decision row is committed before its caller returns, a failed write refuses the request,
cached views are per visibility class and copied per caller, a new version is seen after a sync."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.ai.conftest import audit_rows, make_asset


def test_concurrent_inserts_are_each_committed_before_returning(store):
    from dativo_ingest.store import audit

    n = 48
    barrier = threading.Barrier(n)
    seen: dict[int, bool] = {}

    def one(i: int) -> None:
        barrier.wait()
        audit.insert(
            store,
            {
                "requester": f"r{i}",
                "channel": "python",
                "action": "test",
                "resource_type": "asset",
                "resource_id": f"x/{i}",
                "allowed": True,
                "outcome": "allowed",
                "reason": "allowed",
                "details": {"i": i},
            },
        )
        # committed: visible to a fresh connection the moment insert returns
        seen[i] = audit.count(store, requester=f"r{i}") == 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == dict.fromkeys(range(n), True)
    assert audit.count(store, action="test") == n


def test_a_failed_row_refuses_only_its_own_caller(store, monkeypatch):
    from dativo_ingest.errors import StoreError
    from dativo_ingest.store import audit

    real = audit.GroupCommit.insert_rows

    def flaky(self: Any, rows: list[dict[str, Any]]) -> None:
        if any(r["requester"] == "bad" for r in rows):
            raise StoreError("disk full")
        real(self, rows)

    monkeypatch.setattr(audit.GroupCommit, "insert_rows", flaky)
    n = 16
    barrier = threading.Barrier(n)
    outcome: dict[int, str] = {}

    def one(i: int) -> None:
        barrier.wait()
        row = {
            "requester": "bad" if i == 3 else f"ok{i}",
            "channel": "python",
            "action": "test",
            "resource_type": "asset",
            "resource_id": "x",
            "allowed": True,
            "outcome": "allowed",
            "reason": "allowed",
        }
        try:
            audit.insert(store, row)
            outcome[i] = "stored"
        except StoreError:
            outcome[i] = "refused"

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcome == {i: ("refused" if i == 3 else "stored") for i in range(n)}
    assert audit.count(store, action="test") == n - 1


def test_context_is_refused_when_its_decision_cannot_be_recorded(stripe_registered, store, monkeypatch):
    from dativo_ingest.ai_context_api import AIContextAPI
    from dativo_ingest.errors import StoreError
    from dativo_ingest.store import audit

    api = AIContextAPI()
    api.get_asset_context("stripe", "customers", requester="ai-agent-1")  # caches warm

    def broken(self: Any, rows: list[dict[str, Any]]) -> None:
        raise StoreError("metadata store error: locked")

    monkeypatch.setattr(audit.GroupCommit, "insert_rows", broken)
    with pytest.raises(StoreError, match="not recorded"):
        api.get_asset_context("stripe", "customers", requester="ai-agent-1")


def test_cached_views_are_per_visibility_class_and_copied(registry, store):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard

    registry.save_contract(
        make_asset(
            "pay",
            "cards",
            [
                {"name": "id", "type": "string"},
                {"name": "pan", "type": "string", "classification": "PII", "description": "card number"},
            ],
        ),
        author="t@example.com",
    )
    api = AIContextAPI(policy_guard=PolicyGuard({"elevated_requesters": ["admin"]}))
    bot = api.get_asset_context("pay", "cards", requester="bot")
    admin = api.get_asset_context("pay", "cards", requester="admin")
    assert "card number" not in str(bot) and bot["schema"]["restricted_fields"] == ["pan"]
    assert "card number" in str(admin) and admin["schema"]["restricted_fields"] == []
    bot["schema"]["fields"].clear()
    bot["governance"]["classification"].append("MUTATED")
    again = api.get_asset_context("pay", "cards", requester="bot")
    assert [f["name"] for f in again["schema"]["fields"]] == ["id", "pan"]
    assert "MUTATED" not in again["governance"]["classification"]
    assert "card number" not in str(api.get_asset_context("pay", "cards", requester="bot2"))
    assert len(audit_rows(store, action="get_asset_context")) == 4


def test_a_new_version_is_served_after_a_sync(registry, store):
    from dativo_ingest.ai_context_api import AIContextAPI

    fields = [{"name": "id", "type": "string"}]
    registry.save_contract(make_asset("shop", "orders", fields), author="t@example.com")
    api = AIContextAPI()
    assert api.get_asset_context("shop", "orders", requester="bot")["asset"]["version"] == "1.0.0"
    more = [*fields, {"name": "total", "type": "double"}]
    registry.save_contract(make_asset("shop", "orders", more, version="1.1.0"), author="t@example.com")
    api.refresh_index()
    context = api.get_asset_context("shop", "orders", requester="bot")
    assert context["asset"]["version"] == "1.1.0"
    assert [f["name"] for f in context["schema"]["fields"]] == ["id", "total"]
    old = api.get_asset_context("shop", "orders", version="1.0.0", requester="bot")
    assert [f["name"] for f in old["schema"]["fields"]] == ["id"]


def _row(requester: str) -> dict[str, Any]:
    return {
        "requester": requester,
        "channel": "python",
        "action": "test",
        "resource_type": "asset",
        "resource_id": "x",
        "allowed": True,
        "outcome": "allowed",
        "reason": "allowed",
    }


def test_a_database_error_without_orig_is_a_store_error(store, monkeypatch):
    """Only DBAPI errors carry ``orig``; any other SQLAlchemy error must still become a StoreError."""
    from sqlalchemy.exc import InvalidRequestError

    from dativo_ingest.errors import StoreError
    from dativo_ingest.store import audit
    from dativo_ingest.store.database import store_error

    assert "boom" in str(store_error(InvalidRequestError("boom")))
    if store.dialect != "sqlite":
        pytest.skip("the kept connection is SQLite's")
    writer = audit.writer_for(store)
    invalidated: list[bool] = []

    class Broken:
        def begin(self) -> Any:
            raise InvalidRequestError("boom")

        def invalidate(self) -> None:
            invalidated.append(True)

    monkeypatch.setattr(writer, "conn", Broken())
    with pytest.raises(StoreError, match="InvalidRequestError: boom"):
        audit.insert(store, _row("r"))
    assert invalidated == [True] and writer.conn is None
    audit.insert(store, _row("r"))  # a fresh connection next time
    assert audit.count(store, requester="r") == 1


@pytest.mark.parametrize("when", ["while queued", "when handed the lead"])
def test_a_caller_interrupted_while_waiting_does_not_block_later_writes(store, monkeypatch, when):
    from dativo_ingest.store import audit

    writer = audit.writer_for(store)
    gate = threading.Event()
    real_insert = audit.GroupCommit.insert_rows

    def slow(self: Any, rows: list[dict[str, Any]]) -> None:
        if any(r["requester"] == "first" for r in rows):
            assert gate.wait(10)
        real_insert(self, rows)

    monkeypatch.setattr(audit.GroupCommit, "insert_rows", slow)

    class Interrupted:
        """The waiting lock of one pending row: raises KeyboardInterrupt once, like Ctrl-C would."""

        def __init__(self, lock: Any) -> None:
            self.lock = lock

        def acquire(self) -> bool:
            if when == "when handed the lead":
                self.lock.acquire()  # released by the leader handing over, then interrupted
            raise KeyboardInterrupt

        def release(self) -> None:
            self.lock.release()

    real_pending = audit.PendingRow

    class Pending(real_pending):
        __slots__ = ()

        def __init__(self, row: dict[str, Any]) -> None:
            super().__init__(row)
            if row["requester"] == "interrupted":
                self.done = Interrupted(self.done)

    monkeypatch.setattr(writer, "pending_type", Pending)
    raised: dict[str, BaseException | None] = {}

    def one(requester: str) -> None:
        try:
            audit.insert(store, _row(requester))
            raised[requester] = None
        except BaseException as exc:
            raised[requester] = exc

    first = threading.Thread(target=one, args=("first",))
    first.start()
    while not writer.busy:  # "first" leads, held in its commit
        threading.Event().wait(0.005)
    waiting = threading.Thread(target=one, args=("interrupted",))
    waiting.start()
    if when == "while queued":
        waiting.join(10)
        assert not waiting.is_alive()
    else:
        while not writer.queue:
            threading.Event().wait(0.005)
    gate.set()
    first.join(10)
    waiting.join(10)
    assert not first.is_alive() and not waiting.is_alive()
    assert isinstance(raised["interrupted"], KeyboardInterrupt)

    later = threading.Thread(target=one, args=("later",))
    later.start()
    later.join(10)
    assert not later.is_alive(), "audit writes hang after an interrupted waiter"
    assert raised["first"] is None and raised["later"] is None
    assert not writer.busy and not writer.queue
    assert audit.count(store, requester="first") == audit.count(store, requester="later") == 1
    assert audit.count(store, requester="interrupted") == 0


def test_dispose_all_closes_the_audit_writers(store):
    from dativo_ingest.store import audit
    from dativo_ingest.store.database import MetadataStore

    audit.insert(store, _row("r"))
    writer = audit.writer_for(store)
    conn = writer.conn
    assert audit.open_writers()
    MetadataStore.dispose_all()
    assert not audit.open_writers()
    assert writer.conn is None
    if conn is not None:  # SQLite keeps one
        assert conn.closed
    fresh = MetadataStore(store.url)  # a new engine and writer work as before
    audit.insert(fresh, _row("r"))
    assert audit.count(fresh, requester="r") == 2
