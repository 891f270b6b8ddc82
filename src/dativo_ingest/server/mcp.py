"""MCP server (official ``mcp`` SDK 2.x): the AI context API as tools and ``contract://`` resources.

Tools: ``get_asset_context``, ``search_assets``, ``get_lineage``, ``get_cost_summary``, ``check_sql``,
``get_quality_status``;
resource template ``contract://{source}/{object}`` (the policy-filtered contract context as JSON). No
tool takes a requester: over streamable HTTP the identity comes from the API key checked by
:class:`KeyAuthASGI`; over stdio (``dativo mcp``) and in process it is the identity the server was
started with (``local_requester``, bound to a key by the CLI). Same policy and audit as HTTP.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from dativo_ingest.errors import AuthenticationError, DativoError, PolicyDenied
from dativo_ingest.policy.guard import scrub_paths
from dativo_ingest.server.keys import KeyVerifier, presented_key

STATE_KEY = "dativo_requester"

INSTRUCTIONS = (
    "Governed metadata about the data contracts of this dativo workspace: schemas, meaning, owners, "
    "classification, retention, lineage and cost. Never rows. Fields marked restricted are withheld by "
    "policy; check_sql tells whether a query complies and, with enforce=true, rewrites it to comply."
)


def _message(exc: DativoError) -> str:
    """The error as told to a client: no server filesystem paths (those stay in the server log)."""
    text = scrub_paths(f"{exc.field}: {exc.message}" if exc.field else exc.message)
    return f"Access denied: {text}" if isinstance(exc, PolicyDenied) else text


def build_server(
    api: Any, *, local_requester: str | Callable[[], str] | None = None, local_key: str | None = None
) -> MCPServer:
    """An MCP server over ``api`` (an :class:`~dativo_ingest.ai_context_api.AIContextAPI`).

    ``local_requester`` is the identity of in-process and stdio callers; with ``local_key`` instead,
    the key is verified on every call (a revoked key stops working within the verifier's cache time).
    """
    local_verifier = KeyVerifier(api.store) if local_key is not None else None

    def local_identity() -> str | None:
        if local_verifier is None:
            return local_requester() if callable(local_requester) else local_requester
        try:
            return local_verifier.requester(local_key)
        except AuthenticationError as exc:
            api.policy_guard.record_unauthenticated("mcp:stdio", "mcp", exc.message, local_key)
            raise ToolError(f"not authenticated: {exc.message}") from None

    server = MCPServer(name="dativo", instructions=INSTRUCTIONS, version="1")

    def who(ctx: Context) -> str:
        try:
            request = ctx.request_context.request
        except ValueError:
            request = None
        if request is not None and hasattr(request, "scope"):
            requester = request.scope.get("state", {}).get(STATE_KEY)
            if requester:
                return requester
            raise ToolError("not authenticated: this endpoint needs an API key")
        requester = local_identity()
        if requester:
            return requester
        raise ToolError("not authenticated: start the server with an API key")

    async def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
        except DativoError as exc:
            raise ToolError(_message(exc)) from exc

    @server.tool(
        description="Schema, governance, description, quality, lineage, cost and dbt names of a contract."
    )
    async def get_asset_context(
        source_type: str, object_name: str, ctx: Context, version: str | None = None
    ) -> dict[str, Any]:
        return await run(api.get_asset_context, source_type, object_name, version, requester=who(ctx))

    @server.tool(description="Find contracts by free text (ranked) and filters; only what you may see.")
    async def search_assets(
        ctx: Context,
        query: str | None = None,
        classification: list[str] | None = None,
        tags: list[str] | None = None,
        owner: str | None = None,
        domain: str | None = None,
        limit: int = 10,
    ) -> dict[str, Any]:
        hits = await run(
            api.search_assets, query, classification, tags, owner, domain, requester=who(ctx), limit=limit
        )
        return {"results": hits, "count": len(hits)}

    @server.tool(
        description="Latest result of each quality check of a contract (contract tests and ingestion runs)."
    )
    async def get_quality_status(
        source_type: str, object_name: str, ctx: Context, version: str | None = None
    ) -> dict[str, Any]:
        return await run(api.get_quality_status, source_type, object_name, version, requester=who(ctx))

    @server.tool(description="Upstream and downstream lineage of a contract's asset.")
    async def get_lineage(
        source_type: str, object_name: str, ctx: Context, version: str | None = None, max_depth: int = 5
    ) -> dict[str, Any]:
        return await run(
            api.get_lineage_context,
            source_type,
            object_name,
            version,
            requester=who(ctx),
            max_depth=max_depth,
        )

    @server.tool(description="Cost of stored ingestion runs (one tenant or all) over the last hours.")
    async def get_cost_summary(
        ctx: Context, tenant_id: str | None = None, time_range_hours: float = 720.0
    ) -> dict[str, Any]:
        summary = await run(api.get_finops_context, tenant_id, time_range_hours, requester=who(ctx))
        return {"available": summary is not None, "summary": summary}

    @server.tool(
        description="Check SQL against the contracts it reads; enforce=true returns a compliant rewrite."
    )
    async def check_sql(
        sql: str, ctx: Context, dialect: str | None = None, enforce: bool = False
    ) -> dict[str, Any]:
        fn = api.enforce_sql if enforce else api.check_sql
        return await run(fn, sql, requester=who(ctx), dialect=dialect)

    @server.resource(
        "contract://{source}/{object}",
        name="contract",
        mime_type="application/json",
        description="The policy-filtered context of the latest contract of source/object.",
    )
    async def contract(source: str, object: str, ctx: Context) -> str:
        try:
            requester = who(ctx)
            context = await anyio.to_thread.run_sync(
                functools.partial(api.get_asset_context, source, object, requester=requester)
            )
        except (DativoError, ToolError) as exc:
            raise ResourceError(_message(exc) if isinstance(exc, DativoError) else str(exc)) from exc
        return json.dumps(context, sort_keys=True, default=str)

    return server


SESSION_HEADER = "mcp-session-id"
MAX_SESSIONS = 10_000


class KeyAuthASGI:
    """ASGI wrapper: refuses requests without a valid API key (401) and passes the key's requester on.

    MCP sessions are bound to the requester whose key created them: a session id presented with another
    requester's key (or one this process did not hand out) is answered 404, like an unknown session.
    """

    def __init__(self, app: Any, verifier: KeyVerifier, guard: Any = None) -> None:
        self.app = app
        self.verifier = verifier
        self.guard = guard
        self._sessions: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = presented_key(headers)
        try:
            requester = await anyio.to_thread.run_sync(self.verifier.requester, key)
        except AuthenticationError as exc:
            if self.guard is not None:
                await anyio.to_thread.run_sync(
                    self.guard.record_unauthenticated, scope.get("path", ""), "mcp", exc.message, key
                )
            response = JSONResponse(exc.to_dict(), status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        session_id = headers.get(SESSION_HEADER)
        if session_id is not None:
            with self._lock:
                owner = self._sessions.get(session_id)
            if owner != requester:
                if self.guard is not None:
                    await anyio.to_thread.run_sync(
                        functools.partial(
                            self.guard.record_invalid,
                            requester,
                            "mcp_session",
                            "mcp-session",
                            "mcp",
                            "session not bound to this requester",
                        )
                    )
                response = JSONResponse(
                    {"error": "NotFoundError", "message": "session not found"}, status_code=404
                )
                await response(scope, receive, send)
                return
            if scope.get("method") == "DELETE":
                with self._lock:
                    self._sessions.pop(session_id, None)
        scope.setdefault("state", {})[STATE_KEY] = requester

        async def bind_session(message: dict) -> None:
            if message["type"] == "http.response.start" and session_id is None:
                created = Headers(raw=message.get("headers") or []).get(SESSION_HEADER)
                if created:
                    with self._lock:
                        self._sessions[created] = requester
                        while len(self._sessions) > MAX_SESSIONS:
                            self._sessions.popitem(last=False)
            await send(message)

        await self.app(scope, receive, bind_session)
