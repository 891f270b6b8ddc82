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

    real = audit._GroupCommit._insert

    def flaky(self: Any, rows: list[dict[str, Any]]) -> None:
        if any(r["requester"] == "bad" for r in rows):
            raise StoreError("disk full")
        real(self, rows)

    monkeypatch.setattr(audit._GroupCommit, "_insert", flaky)
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

    monkeypatch.setattr(audit._GroupCommit, "_insert", broken)
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
