"""``dativo serve``, ``dativo mcp``, ``dativo keys`` and ``dativo audit``: the AI context API's interfaces.

The policy is read from ``--policy``, else ``$DATIVO_POLICY``, else ``policy.yaml`` in the workspace
root when present, else the default policy (everyone may ask; PII and SENSITIVE redacted).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.errors import UsageError

keys_app = typer.Typer(
    help="Create, list and revoke API keys (each bound to one requester).", no_args_is_help=True
)

POLICY_OPTION = typer.Option(None, "--policy", help="Policy YAML (default: $DATIVO_POLICY or ./policy.yaml).")


def _policy_path(policy: Path | None) -> Path | None:
    from dativo_ingest.workspace import Workspace

    if policy is not None:
        return policy
    if os.environ.get("DATIVO_POLICY"):
        return Path(os.environ["DATIVO_POLICY"])
    default = Workspace.current().root / "policy.yaml"
    return default if default.exists() else None


def _api(policy: Path | None, channel: str) -> Any:
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard

    return AIContextAPI(policy_guard=PolicyGuard(_policy_path(policy)), channel=channel)


def _store() -> Any:
    from dativo_ingest.store.database import MetadataStore

    return MetadataStore.for_workspace()


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """``30m``, ``24h``, ``7d`` (ago) or an ISO-8601 time; None passes through."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return (now or datetime.now(UTC)) - timedelta(**{unit: float(match.group(1))})
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since must look like 30m, 24h, 7d or an ISO time, got {value!r}", field="since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    import uvicorn

    from dativo_ingest.server.http import create_app

    app = create_app(_api(policy, "http"), mcp=not no_mcp, host=host)
    console.print(
        esc(f"dativo AI context API on http://{host}:{port} (docs /docs, MCP /mcp)"), highlight=False
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
    from dativo_ingest.errors import AuthenticationError
    from dativo_ingest.server.keys import KeyVerifier
    from dativo_ingest.server.mcp import build_server

    api = _api(policy, "mcp")
    try:
        KeyVerifier(api.store).requester(key)
    except AuthenticationError as exc:
        api.policy_guard.record_unauthenticated("mcp:stdio", "mcp", exc.message, key)
        raise
    # the key is checked again on every tool call, so revoking it ends the session's access
    build_server(api, local_key=key).run("stdio")


@keys_app.command("create")
def keys_create(
    requester: str = typer.Argument(..., help="The identity the key acts as (as named in the policy)."),
    label: str | None = typer.Option(None, "--label", help="A note to recognise the key by."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Create an API key for REQUESTER; the key is printed once and only its hash is kept."""
    from dativo_ingest.server.keys import create_key

    key_id, key = create_key(_store(), requester, label)
    if as_json:
        print_json({"key_id": key_id, "requester": requester, "key": key})
        return
    console.print(
        esc(f"key id {key_id} for requester {requester} (shown once, store it safely):"), highlight=False
    )
    print(key)


@keys_app.command("list")
def keys_list(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List API keys (ids, requesters, creation and revocation times; never the keys)."""
    from dativo_ingest.server.keys import list_keys

    rows = list_keys(_store())
    if as_json:
        print_json(rows)
        return
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        console.print(
            esc(f"{row['key_id']}  {row['requester']}  {row['created_at']}  {state}  {row['label'] or ''}"),
            highlight=False,
        )


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="Key id shown by `dativo keys list`.")) -> None:
    """Revoke an API key."""
    from dativo_ingest.server.keys import revoke_key

    revoke_key(_store(), key_id)
    console.print(f"revoked {esc(key_id)}", highlight=False)


def audit(
    requester: str | None = typer.Option(None, "--requester", help="Only this requester's decisions."),
    since: str | None = typer.Option(None, "--since", help="30m, 24h, 7d or an ISO time."),
    action: str | None = typer.Option(None, "--action", help="Only this action (get_asset_context, ...)."),
    limit: int = typer.Option(100, "--limit", min=1, help="Newest N decisions."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show recorded policy decisions (oldest first)."""
    from dativo_ingest.store import audit as audit_store

    rows = audit_store.query(
        _store(), requester=requester, since=parse_since(since), action=action, limit=limit
    )
    if as_json:
        print_json(rows)
        return
    for r in rows:
        mark = "[green]allowed[/]" if r["allowed"] else f"[red]{esc(r['outcome'])}[/]"
        who = esc(f"{r['at']}  {r['requester']}  {r['channel']}  {r['action']}  {r['resource_id']}")
        console.print(
            f"{who}  {mark}  {esc(r['reason'])}",
            highlight=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("mcp")(mcp)
    app.command("audit")(audit)
    app.add_typer(keys_app, name="keys")
