"""API keys are checked on every path (HTTP, stdio MCP, MCP sessions), off the event loop and through
one cache check; a rejected request is audited under its key id, never the key's secret."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from dativo_ingest.cli.app import main
from tests.ai.conftest import audit_rows

POLICY = {"allowed_requesters": ["ai-agent-1"]}


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def client(stripe_registered, store):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.server.http import create_app
    from dativo_ingest.server.keys import create_key

    key_id, key = create_key(store, "ai-agent-1")
    app = create_app(AIContextAPI(policy_guard=PolicyGuard(POLICY), channel="http"), mcp=False)
    with TestClient(app) as c:
        c.key, c.key_id = key, key_id
        yield c


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field", "location"),
    [
        ("get", "/v1/assets/stripe/customers?version=x", {}, "version", ["query", "version"]),
        ("get", "/v1/search?limit=0", {}, "limit", ["query", "limit"]),
        ("post", "/v1/sql/check", {"json": {"sql": ""}}, "sql", ["body", "sql"]),
    ],
)
def test_invalid_requests_are_audited_in_the_documented_shape(
    client, store, method, path, kwargs, field, location
):
    r = getattr(client, method)(path, headers={"Authorization": f"Bearer {client.key}"}, **kwargs)
    assert r.status_code == 422
    body = r.json()
    assert "detail" not in body and body["error"] == "UsageError"
    assert body["field"] == field and body["location"] == location and field in body["message"]
    rows = audit_rows(store)
    assert len(rows) == 1
    assert (rows[0]["requester"], rows[0]["outcome"], rows[0]["allowed"]) == ("ai-agent-1", "invalid", False)
    assert rows[0]["details"]["field"] == field


def test_unauthenticated_rows_name_the_key_id_never_the_secret(client, store):
    from dativo_ingest.server.keys import revoke_key

    revoke_key(store, client.key_id)
    time.sleep(1.1)  # past the verifier's cache
    r = client.get("/v1/whoami", headers={"Authorization": f"Bearer {client.key}"})
    assert r.status_code == 401
    client.get("/v1/whoami", headers={"X-API-Key": "not-a-key"})
    rows = audit_rows(store)
    assert [r["outcome"] for r in rows] == ["unauthenticated", "unauthenticated"]
    assert rows[0]["details"] == {"key_id": client.key_id} and rows[1]["details"] == {}
    secret = client.key.split("_", 2)[2]
    assert secret not in json.dumps(rows)


def test_stdio_mcp_with_a_bad_key_is_audited(workspace, store, capsys):
    assert main(["mcp", "--key", "dtv_bad_bad"]) == 1
    rows = audit_rows(store)
    assert [(r["requester"], r["outcome"], r["channel"]) for r in rows] == [
        ("unauthenticated", "unauthenticated", "mcp")
    ]
    assert rows[0]["details"] == {"key_id": "bad"} or rows[0]["details"] == {}


def test_stdio_mcp_rechecks_revocation_per_call(stripe_registered, store):
    import mcp

    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.server.keys import create_key, revoke_key
    from dativo_ingest.server.mcp import build_server

    key_id, key = create_key(store, "ai-agent-1")
    api = AIContextAPI(policy_guard=PolicyGuard(POLICY), channel="mcp")
    args = {"source_type": "stripe", "object_name": "customers"}

    async def main_():
        async with mcp.Client(build_server(api, local_key=key)) as client:
            first = await client.call_tool("get_asset_context", args)
            assert not first.is_error, first.content
            revoke_key(store, key_id)
            await anyio.sleep(1.1)
            second = await client.call_tool("get_asset_context", args)
            assert second.is_error and "not authenticated" in second.content[0].text

    anyio.run(main_)
    rows = audit_rows(store)
    assert [r["outcome"] for r in rows] == ["allowed", "unauthenticated"]
    assert rows[1]["details"] == {"key_id": key_id}


def test_mcp_session_is_bound_to_the_key_that_created_it(stripe_registered, store):
    import httpx

    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.server.http import create_app
    from dativo_ingest.server.keys import create_key
    from tests.ai.server_util import running

    _, agent_key = create_key(store, "ai-agent-1")
    _, other_key = create_key(store, "analyst-bot")
    accept = {"Accept": "application/json, text/event-stream"}
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    app = create_app(AIContextAPI(policy_guard=PolicyGuard(POLICY), channel="http"))
    with running(app) as url:
        r = httpx.post(f"{url}/mcp", json=init, headers={**accept, "Authorization": f"Bearer {agent_key}"})
        assert r.status_code == 200, r.text
        sid = r.headers["mcp-session-id"]
        own = {**accept, "Authorization": f"Bearer {agent_key}", "mcp-session-id": sid}
        stolen = {**accept, "Authorization": f"Bearer {other_key}", "mcp-session-id": sid}
        assert httpx.post(f"{url}/mcp", json=ping, headers=own).status_code == 200
        assert httpx.post(f"{url}/mcp", json=ping, headers=stolen).status_code == 404
        assert httpx.delete(f"{url}/mcp", headers=stolen).status_code == 404
        assert httpx.post(f"{url}/mcp", json=ping, headers=own).status_code == 200
    row = audit_rows(store)[-1]
    assert (row["requester"], row["action"], row["outcome"]) == ("analyst-bot", "mcp_session", "invalid")


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
        _, fresh = keys.create_key(store, "ai-agent-1")  # a key the cache has not seen
        lookups.clear()
        r = client.get("/v1/search?limit=0", headers={"Authorization": f"Bearer {fresh}"})
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
