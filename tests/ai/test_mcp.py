"""MCP server with real client sessions: in process, over streamable HTTP with API keys, and over stdio."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from tests.ai.conftest import audit_rows
from tests.ai.server_util import running

POLICY = {"allowed_requesters": ["ai-agent-1"], "elevated_requesters": ["admin-bot"]}
TOOLS = {"get_asset_context", "search_assets", "get_lineage", "get_cost_summary", "check_sql"}


def _api(channel="mcp"):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard

    return AIContextAPI(policy_guard=PolicyGuard(POLICY), channel=channel)


def _payload(result):
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def test_in_process_client_session(stripe_registered, store):
    import mcp

    from dativo_ingest.server.mcp import build_server

    async def main():
        async with mcp.Client(build_server(_api(), local_requester="ai-agent-1")) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert tools >= TOOLS
            assert all(
                "requester" not in (t.input_schema.get("properties") or {})
                for t in (await client.list_tools()).tools
            )
            ctx = _payload(
                await client.call_tool(
                    "get_asset_context", {"source_type": "stripe", "object_name": "customers"}
                )
            )
            assert ctx["accessed_by"] == "ai-agent-1" and ctx["schema"]["restricted_fields"] == ["email"]
            hits = _payload(
                await client.call_tool("search_assets", {"query": "customer", "tags": ["stripe"]})
            )
            assert hits["count"] == 1
            lineage = _payload(
                await client.call_tool("get_lineage", {"source_type": "stripe", "object_name": "customers"})
            )
            assert lineage["upstream"] == [] and lineage["downstream"] == []
            costs = _payload(await client.call_tool("get_cost_summary", {"time_range_hours": 24}))
            assert costs["available"] is True and costs["summary"]["run_count"] == 0
            check = _payload(await client.call_tool("check_sql", {"sql": "SELECT * FROM stripe.customers"}))
            assert check["allowed"] is False and "consent_unenforceable" in {
                v["kind"] for v in check["violations"]
            }
            refused = await client.call_tool(
                "check_sql", {"sql": "SELECT id FROM stripe.customers", "enforce": True}
            )
            assert refused.is_error and "Access denied" in refused.content[0].text
            missing = await client.call_tool(
                "get_asset_context", {"source_type": "stripe", "object_name": "nope"}
            )
            assert missing.is_error and "no contract" in missing.content[0].text
            resource = await client.read_resource("contract://stripe/customers")
            body = json.loads(resource.contents[0].text)
            assert (
                body["asset"]["object"] == "customers"
                and "Customer email address" not in resource.contents[0].text
            )

    anyio.run(main)
    rows = audit_rows(store)
    assert {r["channel"] for r in rows} == {"mcp"} and {r["requester"] for r in rows} == {"ai-agent-1"}
    assert len(rows) == 8  # one decision per tool call and resource read


def test_in_process_untrusted_identity_is_denied(stripe_registered, store):
    import mcp

    from dativo_ingest.server.mcp import build_server

    async def main():
        async with mcp.Client(build_server(_api(), local_requester="untrusted-agent")) as client:
            result = await client.call_tool(
                "get_asset_context", {"source_type": "stripe", "object_name": "customers"}
            )
            assert result.is_error and "Access denied: requester" in result.content[0].text

    anyio.run(main)
    assert [r["outcome"] for r in audit_rows(store)] == ["denied"]


def test_streamable_http_behind_api_keys(stripe_registered, store):
    import httpx2
    import mcp
    from mcp.client.streamable_http import streamable_http_client

    from dativo_ingest.server.http import create_app
    from dativo_ingest.server.keys import create_key

    _, agent_key = create_key(store, "ai-agent-1")
    _, admin_key = create_key(store, "admin-bot")

    async def session(url, key, forged=None):
        headers = {"Authorization": f"Bearer {key}", **(forged or {})}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            mcp.Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            return _payload(
                await client.call_tool(
                    "get_asset_context", {"source_type": "stripe", "object_name": "customers"}
                )
            )

    with running(create_app(_api("http"))) as url:
        agent = anyio.run(session, url, agent_key, {"X-Requester": "admin-bot"})
        admin = anyio.run(session, url, admin_key)
        import httpx

        unauth = httpx.post(
            f"{url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            headers={"Accept": "application/json, text/event-stream"},
        )
    assert agent["accessed_by"] == "ai-agent-1" and agent["schema"]["restricted_fields"] == ["email"]
    assert admin["accessed_by"] == "admin-bot" and admin["schema"]["restricted_fields"] == []
    assert unauth.status_code == 401
    rows = [r for r in audit_rows(store) if r["action"] == "get_asset_context"]
    assert [(r["requester"], r["channel"]) for r in rows] == [("ai-agent-1", "mcp"), ("admin-bot", "mcp")]
    assert audit_rows(store)[-1]["outcome"] == "unauthenticated"


def test_stdio_subprocess_session(stripe_registered, store, workspace: Path):
    import mcp
    from mcp.client.stdio import stdio_client

    from dativo_ingest.server.keys import create_key

    (workspace / "policy.yaml").write_text("allowed_requesters: [ai-agent-1]\n")
    _, key = create_key(store, "ai-agent-1")
    exe = Path(sys.executable).with_name("dativo")
    env = {**os.environ, "DATIVO_HOME": str(workspace), "DATIVO_API_KEY": key}
    params = mcp.StdioServerParameters(command=str(exe), args=["mcp"], env=env, cwd=str(workspace))
    errlog = (workspace / "mcp-stderr.log").open("w")

    async def main():
        with anyio.fail_after(60):
            # errlog given explicitly: the SDK's default binds sys.stderr at import time (pytest may swap it)
            async with mcp.Client(stdio_client(params, errlog=errlog)) as client:
                return _payload(
                    await client.call_tool(
                        "get_asset_context", {"source_type": "stripe", "object_name": "customers"}
                    )
                )

    try:
        context = anyio.run(main)
    finally:
        errlog.close()
    assert context["accessed_by"] == "ai-agent-1" and context["schema"]["restricted_fields"] == ["email"]
    assert [(r["requester"], r["channel"]) for r in audit_rows(store)] == [("ai-agent-1", "mcp")]


def test_stdio_refuses_to_start_without_a_valid_key(workspace: Path):
    import subprocess

    exe = Path(sys.executable).with_name("dativo")
    env = {k: v for k, v in os.environ.items() if k != "DATIVO_API_KEY"}
    env["DATIVO_HOME"] = str(workspace)
    proc = subprocess.run(
        [str(exe), "mcp", "--key", "dtv_bad_key"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1 and "invalid API key" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
