"""HTTP API (FastAPI): the AI context API behind API-key authentication, plus MCP at ``/mcp``.

Every route under ``/v1`` needs ``Authorization: Bearer <key>`` (or ``X-API-Key``); the requester is
the identity the key is bound to — never a value from the body, the query or another header. Errors
are JSON ``{"error", "message", ...}`` with 401 (no or bad key), 403 (policy), 404 (unknown contract)
or 422 (bad input). The OpenAPI document is served at ``/openapi.json``.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import Route

from dativo_ingest.ai_context_api import AIContextAPI
from dativo_ingest.errors import AuthenticationError, DativoError, UsageError
from dativo_ingest.policy.guard import scrub_paths
from dativo_ingest.server.keys import KeyVerifier, presented_key
from dativo_ingest.server.mcp import KeyAuthASGI, build_server

_bearer = HTTPBearer(auto_error=False, description="API key created with `dativo keys create REQUESTER`")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same API key, as a header")


class ErrorBody(BaseModel):
    """Every error response: ``error`` (the kind) and ``message``; ``field`` and ``location`` name the
    offending input when there is one (422), ``errors`` lists each problem of an invalid request."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="Error kind, e.g. AuthenticationError, PolicyDenied, UsageError")
    message: str
    field: str | None = Field(None, description="The offending input, when there is one")
    location: list[str | int] | None = Field(None, description="Where the input is, e.g. ['query', 'limit']")


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key", "model": ErrorBody},
    403: {"description": "Refused by policy", "model": ErrorBody},
    404: {"description": "Unknown contract", "model": ErrorBody},
    422: {"description": "Invalid input", "model": ErrorBody},
}
NAME = r"^[^/\\\x00-\x1f]{1,255}$"
VERSION = r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$"


class SQLRequest(BaseModel):
    """A query to check or enforce. Unknown keys (a ``requester``, say) are ignored."""

    model_config = ConfigDict(extra="ignore")

    sql: str = Field(min_length=1, max_length=1_000_000)
    dialect: str | None = Field(None, max_length=32, description="sqlglot dialect (duckdb, postgres, ...)")


def _json(data: Any) -> Any:
    """A JSON response straight from plain data (skips FastAPI's per-value encoder on large contexts)."""
    return JSONResponse(data)


def public_error(exc: DativoError) -> dict[str, Any]:
    """The error as sent to a client: no server filesystem paths (those stay in the server log)."""
    body = exc.to_dict()
    body.pop("path", None)
    return {k: scrub_paths(v) if isinstance(v, str) else v for k, v in body.items()}


def validation_error_body(exc: RequestValidationError) -> dict[str, Any]:
    """FastAPI's validation errors in the documented shape ``{error, message, field, location, errors}``."""
    problems = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if isinstance(p, (str, int))]
        where = [p for p in loc if p not in ("query", "path", "body", "header")]
        problems.append(
            {
                "field": ".".join(str(p) for p in where) or (str(loc[-1]) if loc else None),
                "location": loc,
                "message": scrub_paths(str(err.get("msg", "invalid value"))),
            }
        )
    first = problems[0] if problems else {"field": None, "location": [], "message": "invalid request"}
    body: dict[str, Any] = {
        "error": "UsageError",
        "message": f"{first['field']}: {first['message']}" if first["field"] else first["message"],
        "field": first["field"],
        "location": first["location"],
    }
    if len(problems) > 1:
        body["errors"] = problems
    return body


def _error(exc: DativoError) -> JSONResponse:
    status = 422 if isinstance(exc, UsageError) else exc.http_status
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(public_error(exc), status_code=status, headers=headers)


def create_app(api: AIContextAPI | None = None, *, mcp: bool = True, host: str = "127.0.0.1") -> FastAPI:
    """The FastAPI application (and the MCP streamable HTTP endpoint at ``/mcp`` when ``mcp``)."""
    api = api or AIContextAPI(channel="http")
    verifier = KeyVerifier(api.store)
    mcp_server = None
    mcp_route = None
    if mcp:
        mcp_api = AIContextAPI(
            api._registry,
            api._lineage,
            api.policy_guard,
            store=api.store,
            channel="mcp",
            index_refresh_seconds=api.index_refresh_seconds,
        )
        mcp_server = build_server(mcp_api)
        starlette_app = mcp_server.streamable_http_app(streamable_http_path="/mcp", host=host)
        endpoint = next(r.endpoint for r in starlette_app.routes if isinstance(r, Route) and r.path == "/mcp")
        mcp_route = Route(
            "/mcp",
            endpoint=KeyAuthASGI(endpoint, verifier, api.policy_guard),
            methods=["GET", "POST", "DELETE"],
            include_in_schema=False,
        )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if mcp_server is None:
            yield
            return
        async with mcp_server.session_manager.run():
            yield

    app = FastAPI(
        title="dativo AI context API",
        version="1",
        lifespan=lifespan,
        description=__doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",  # FastAPI's default
    )
    app.state.api = api
    app.state.verifier = verifier
    if mcp_route is not None:
        app.router.routes.append(mcp_route)

    @app.exception_handler(DativoError)
    async def _dativo_error(_request: Request, exc: DativoError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        body = validation_error_body(exc)
        # the key was verified before the input was (a bad key is a 401); record the refusal
        presented = presented_key(request.headers)
        if presented:
            # verified moments ago, so cached; no store query on the event loop (a miss: not recorded)
            who = verifier.cached(presented)
            if who is not None:
                route = request.scope.get("route")
                action = getattr(route, "name", None) or "request"
                await anyio.to_thread.run_sync(
                    functools.partial(
                        api.policy_guard.record_invalid,
                        who,
                        action,
                        request.url.path,
                        "http",
                        body["message"],
                        field=body.get("field"),
                    )
                )
        return JSONResponse(body, status_code=422)

    def verify(path: str, presented: str | None) -> str:
        try:
            return verifier.requester(presented)
        except AuthenticationError as exc:
            api.policy_guard.record_unauthenticated(path, "http", exc.message, presented)
            raise

    async def requester(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
        header_key: str | None = Depends(_api_key),
    ) -> str:
        # on the event loop: a key verified in the last second is answered from memory; anything else
        # (store lookup, audit row for a refusal) runs in a worker thread
        presented = bearer.credentials if bearer is not None else header_key
        who = verifier.cached(presented)
        if who is not None:
            return who
        return await anyio.to_thread.run_sync(verify, request.url.path, presented)

    Source = Path(..., pattern=NAME, description="Source type, e.g. stripe")
    Object = Path(..., pattern=NAME, description="Object name, e.g. customers")
    Version = Query(None, pattern=VERSION, description="Contract version (default: latest)")

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        """Liveness (no authentication)."""
        return {"status": "ok"}

    @app.get("/v1/whoami", tags=["meta"], responses={401: ERRORS[401], 422: ERRORS[422]})
    def whoami(who: str = Depends(requester)) -> dict[str, str]:
        """The requester identity your API key is bound to."""
        return {"requester": who}

    @app.get("/v1/assets/{source_type}/{object_name}", tags=["context"], responses=ERRORS)
    def get_asset_context(
        source_type: str = Source,
        object_name: str = Object,
        version: str | None = Version,
        who: str = Depends(requester),
    ) -> dict[str, Any]:
        """Policy-filtered context of a contract: schema, governance, quality, lineage, cost, dbt names."""
        return _json(api.get_asset_context(source_type, object_name, version, requester=who))

    @app.get("/v1/assets/{source_type}/{object_name}/lineage", tags=["context"], responses=ERRORS)
    def get_lineage(
        source_type: str = Source,
        object_name: str = Object,
        version: str | None = Version,
        max_depth: int = Query(5, ge=1, le=50),
        who: str = Depends(requester),
    ) -> dict[str, Any]:
        """Upstream and downstream lineage of a contract's asset."""
        return _json(
            api.get_lineage_context(source_type, object_name, version, requester=who, max_depth=max_depth)
        )

    @app.get("/v1/assets/{source_type}/{object_name}/quality", tags=["context"], responses=ERRORS)
    def get_quality_status(
        source_type: str = Source,
        object_name: str = Object,
        version: str | None = Version,
        who: str = Depends(requester),
    ) -> dict[str, Any]:
        """Latest result of each quality check (contract tests and ingestion runs)."""
        return _json(api.get_quality_status(source_type, object_name, version, requester=who))

    @app.get("/v1/search", tags=["context"], responses=ERRORS)
    def search_assets(
        query: str | None = Query(None, max_length=1000),
        classification: list[str] | None = Query(None),
        tags: list[str] | None = Query(None),
        owner: str | None = Query(None, max_length=255),
        domain: str | None = Query(None, max_length=255),
        limit: int = Query(10, ge=1, le=100),
        who: str = Depends(requester),
    ) -> dict[str, Any]:
        """Contracts matching the query (ranked) and every filter, among those you may see."""
        hits = api.search_assets(query, classification, tags, owner, domain, requester=who, limit=limit)
        return _json({"results": hits, "count": len(hits)})

    @app.get("/v1/finops", tags=["context"], responses=ERRORS)
    def get_cost_summary(
        tenant_id: str | None = Query(None, max_length=255),
        time_range_hours: float = Query(720.0, gt=0, le=43920),
        who: str = Depends(requester),
    ) -> dict[str, Any]:
        """Cost of stored runs (one tenant or all) in the last ``time_range_hours``."""
        summary = api.get_finops_context(tenant_id, time_range_hours, requester=who)
        return _json({"available": summary is not None, "summary": summary})

    @app.post("/v1/sql/check", tags=["sql"], responses=ERRORS)
    def check_sql(body: SQLRequest, who: str = Depends(requester)) -> dict[str, Any]:
        """Violations of a query against the contracts of the tables it reads."""
        return _json(api.check_sql(body.sql, requester=who, dialect=body.dialect))

    @app.post("/v1/sql/enforce", tags=["sql"], responses=ERRORS)
    def enforce_sql(body: SQLRequest, who: str = Depends(requester)) -> dict[str, Any]:
        """The query rewritten to comply (masking, retention and consent predicates), or 403 with reasons."""
        return _json(api.enforce_sql(body.sql, requester=who, dialect=body.dialect))

    return app
