"""``dativo serve`` and ``dativo mcp``: the AI context API over HTTP and MCP.

The policy is read from ``--policy``, else ``$DATIVO_POLICY``, else ``policy.yaml`` in the workspace
root when present, else the default policy (everyone may ask; PII and SENSITIVE redacted). API keys are
``dativo keys`` (:mod:`dativo_ingest.cli.keys`), the decisions made ``dativo audit``
(:mod:`dativo_ingest.cli.audit`).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
import uvicorn

from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
from dativo_ingest.cli.app import console, esc
from dativo_ingest.errors import AuthenticationError, UsageError
from dativo_ingest.server.http import create_app
from dativo_ingest.server.keys import KeyVerifier
from dativo_ingest.server.mcp import build_server
from dativo_ingest.workspace import Workspace

POLICY_OPTION = typer.Option(None, "--policy", help="Policy YAML (default: $DATIVO_POLICY or ./policy.yaml).")


def _policy_path(policy: Path | None) -> Path | None:
    if policy is not None:
        return policy
    if os.environ.get("DATIVO_POLICY"):
        return Path(os.environ["DATIVO_POLICY"])
    default = Workspace.current().root / "policy.yaml"
    return default if default.exists() else None


def _api(policy: Path | None, channel: str) -> AIContextAPI:
    return AIContextAPI(policy_guard=PolicyGuard(_policy_path(policy)), channel=channel)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    policy: Path | None = POLICY_OPTION,
    no_mcp: bool = typer.Option(False, "--no-mcp", help="Do not serve MCP at /mcp."),
    access_log: bool = typer.Option(
        False,
        "--access-log/--no-access-log",
        help="Log every request (off by default: the audit log records every decision).",
    ),
) -> None:
    """Serve the AI context API over HTTP (OpenAPI at /openapi.json) and MCP at /mcp, behind API keys."""
    app = create_app(_api(policy, "http"), mcp=not no_mcp, host=host)
    console.print(
        esc(f"dativo AI context API on http://{host}:{port} (catalog /, docs /docs, MCP /mcp)"),
        highlight=False,
    )
    # uvicorn picks uvloop and httptools when they are installed ("auto"), else asyncio and h11
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        loop="auto",
        http="auto",
    )


def mcp(
    transport: str = typer.Option("stdio", "--transport", help="stdio, or http (streamable HTTP at /mcp)."),
    key: str | None = typer.Option(None, "--key", envvar="DATIVO_API_KEY", help="API key (stdio identity)."),
    policy: Path | None = POLICY_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface (http transport)."),
    port: int = typer.Option(8000, "--port", help="TCP port (http transport)."),
) -> None:
    """Run the MCP server: over stdio as the requester bound to the API key, or over streamable HTTP."""
    if transport == "http":
        serve(host=host, port=port, policy=policy, no_mcp=False, access_log=False)
        return
    if transport != "stdio":
        raise UsageError(f"--transport must be stdio or http, got {transport!r}", field="transport")
    api = _api(policy, "mcp")
    try:
        KeyVerifier(api.store).requester(key)
    except AuthenticationError as exc:
        api.policy_guard.record_unauthenticated("mcp:stdio", "mcp", exc.message, key)
        raise
    # the key is checked again on every tool call, so revoking it ends the session's access
    build_server(api, local_key=key).run("stdio")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("mcp")(mcp)
