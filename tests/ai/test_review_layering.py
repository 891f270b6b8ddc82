"""Review follow-ups: no blocking key lookup on the event loop, one key cache check, key ids in the
policy core, URLs kept by the path scrubber, the lineage tracker recognised by type."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ai.conftest import audit_rows

SRC = Path(__file__).resolve().parents[2] / "src" / "dativo_ingest"


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_invalid_request_does_not_look_the_key_up_on_the_event_loop(stripe_registered, store, monkeypatch):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.server import keys
    from dativo_ingest.server.http import create_app

    _, key = keys.create_key(store, "ai-agent-1")
    lookups: list[bool] = []
    real_get = keys.apikeys.get

    def get(*args: Any, **kwargs: Any) -> Any:
        lookups.append(_on_event_loop())
        return real_get(*args, **kwargs)

    monkeypatch.setattr(keys.apikeys, "get", get)
    app = create_app(
        AIContextAPI(policy_guard=PolicyGuard({"allowed_requesters": ["ai-agent-1"]}), channel="http"),
        mcp=False,
    )
    with TestClient(app) as client:
        r = client.get("/v1/search?limit=0", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 422
        assert lookups and not any(lookups)  # the one lookup ran in a worker thread
        rows = audit_rows(store)
        assert [(row["requester"], row["outcome"]) for row in rows] == [("ai-agent-1", "invalid")]

        # the cache entry expired between verification and the handler: not recorded, never a query
        app.state.verifier.cache_seconds = 0  # every entry expires at once
        app.state.verifier._cache.clear()
        lookups.clear()
        r = client.get("/v1/search?limit=0", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 422
        assert lookups == [False]  # the dependency's lookup, in a worker thread; none on the loop


def test_requester_checks_the_cache_through_cached(store, monkeypatch):
    from dativo_ingest.errors import AuthenticationError
    from dativo_ingest.server import keys

    _, key = keys.create_key(store, "ai-agent-1")
    verifier = keys.KeyVerifier(store, cache_seconds=60)
    assert verifier.cached(key) is None
    assert verifier.requester(key) == "ai-agent-1"
    assert verifier.cached(key) == "ai-agent-1"
    monkeypatch.setattr(keys.apikeys, "get", lambda *a, **k: pytest.fail("cache hit must not query"))
    assert verifier.requester(key) == "ai-agent-1"
    monkeypatch.setattr(keys.KeyVerifier, "cached", lambda self, presented: "from-cached")
    assert verifier.requester(key) == "from-cached"  # the one cache check is cached()
    monkeypatch.undo()
    for bad in ("", "nope", "dtv_XYZ_secret", "dtv__secret"):
        with pytest.raises(AuthenticationError):
            verifier.requester(bad)


def test_key_ids_live_in_the_policy_core():
    from dativo_ingest.policy import keyids
    from dativo_ingest.server import keys

    assert keys.key_id_of is keyids.key_id_of and keys.PREFIX == keyids.PREFIX
    assert keyids.key_id_of("dtv_0a1b2c_secret_with_underscores") == "0a1b2c"
    assert keyids.key_id_of("dtv_NOTHEX_secret") is None and keyids.key_id_of(None) is None
    for module in (SRC / "policy").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("dativo_ingest.server"), (module.name, node.module)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cannot read /srv/dativo/specs/secret.yaml", "cannot read <server path>"),
        ("cannot read C:\\data\\specs\\x.yaml", "cannot read <server path>"),
        ("error:/srv/data/x.csv", "error:<server path>"),
        ("fetch https://api.x.com/v1/foo failed", "fetch https://api.x.com/v1/foo failed"),
        ("see http://localhost:8080/a/b", "see http://localhost:8080/a/b"),
    ],
)
def test_scrub_paths_removes_server_paths_and_keeps_urls(text, expected):
    from dativo_ingest.policy.guard import scrub_paths

    assert scrub_paths(text) == expected


def test_known_nodes_are_listed_only_for_a_lineage_tracker(store):
    from dativo_ingest.context.sources import LineageCache, default_lineage

    cache = LineageCache()
    tracker = default_lineage(store)
    assert cache._known_nodes(tracker) is not None

    class LineageTracker:  # same name, not the real tracker: not listed
        repository = tracker.repository

    assert cache._known_nodes(LineageTracker()) is None

    class Subclass(type(tracker)):
        pass

    assert LineageCache()._known_nodes(Subclass(store)) is not None  # a subclass is a tracker
