"""The served web catalog: sign-in, index, contract, diff, lineage, runs and audit pages, read-only.

Mounted by :func:`dativo_ingest.server.http.create_app` at ``/`` (the API stays under ``/v1``, MCP at
``/mcp``). A page needs a session (see :mod:`.sessions`); without a valid one it answers with the
sign-in page. Every page is rendered for the session's requester by
:class:`~dativo_ingest.catalog_pages.CatalogPages`, which decides and audits each view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from dativo_ingest.catalog_pages import CatalogPages
from dativo_ingest.catalog_web.links import Links
from dativo_ingest.catalog_web.render import STATIC, render
from dativo_ingest.catalog_web.sessions import COOKIE, SessionStore
from dativo_ingest.context.api import AIContextAPI
from dativo_ingest.errors import AuthenticationError, DativoError, NotFoundError, PolicyDenied, UsageError
from dativo_ingest.policy.guard import scrub_paths
from dativo_ingest.server.keys import KeyVerifier

API_PREFIXES = ("/v1", "/mcp", "/docs", "/redoc", "/openapi.json", "/healthz")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
LINKS = Links("/")


def _safe_next(value: str | None) -> str:
    """A same-site path to return to after sign-in (anything else: the index)."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


class CatalogWeb:
    """Routes and page rendering for one API (its registry, store, policy and audit)."""

    def __init__(
        self, api: AIContextAPI, verifier: KeyVerifier, sessions: SessionStore | None = None
    ) -> None:
        self.api = api
        self.pages = CatalogPages(api)
        self.verifier = verifier
        self.sessions = sessions or SessionStore()

    # ----- responses --------------------------------------------------------------------------------
    def html(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("links", LINKS)
        context.setdefault("requester", None)
        context.setdefault("elevated", False)
        context.setdefault("static_site", False)
        return HTMLResponse(render(template, **context), status_code=status, headers=SECURITY_HEADERS)

    def error_page(self, exc: DativoError, requester: str | None) -> HTMLResponse:
        if isinstance(exc, NotFoundError):
            status, title = 404, "Not found"
        elif isinstance(exc, PolicyDenied):
            status, title = 403, "Not allowed"
        elif isinstance(exc, UsageError):
            status, title = 422, "Invalid request"
        else:
            status, title = exc.http_status or 500, "Something went wrong"
        return self.html(
            "error.html",
            status=status,
            title=title,
            message=scrub_paths(exc.message),
            status_code=status,
            requester=requester,
            elevated=bool(requester) and self.pages.is_elevated(requester or ""),
        )

    def signin_page(self, request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return self.html("signin.html", status=status, error=error, next=_safe_next(target))

    # ----- sessions ---------------------------------------------------------------------------------
    def requester_of(self, request: Request) -> str | None:
        """The requester of a valid session whose key is still valid, else None (and the session ends)."""
        token = request.cookies.get(COOKIE)
        session = self.sessions.get(token)
        if session is None:
            return None
        try:
            who = self.verifier.requester(session.key)
        except AuthenticationError:
            self.sessions.end(token)
            return None
        if who != session.requester:
            self.sessions.end(token)
            return None
        return who

    def page(self, request: Request, build: Callable[[str], Response]) -> Response:
        """Run ``build`` for the signed-in requester; the sign-in page when there is none, an error page
        (404, 403, 422) when the page service refuses."""
        who = self.requester_of(request)
        if who is None:
            return self.signin_page(request, status=401)
        try:
            return build(who)
        except DativoError as exc:
            return self.error_page(exc, who)

    def chrome(self, who: str) -> dict[str, Any]:
        return {"requester": who, "elevated": self.pages.is_elevated(who)}


def _filters(request: Request) -> dict[str, list[str]]:
    params = request.query_params
    return {
        facet: [v[:255] for v in params.getlist(name) if v.strip()]
        for facet, name in (
            ("classification", "classification"),
            ("owner", "owner"),
            ("domain", "domain"),
            ("tags", "tag"),
            ("status", "status"),
        )
    }


def with_links(graph: dict[str, Any], links: Links) -> dict[str, Any]:
    """The graph with an ``href`` on each contract node (``asset://source/object@version``)."""
    for node in graph["nodes"]:
        if node["id"].startswith("asset://"):
            key, _, version = node["id"][len("asset://") :].rpartition("@")
            source_type, _, object_name = key.partition("/")
            node["href"] = links.contract(source_type, object_name, version or None)
    return graph


def catalog_router(web: CatalogWeb) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    pages = web.pages

    @router.get("/signin")
    def signin_form(request: Request, next: str = Query("/", max_length=2000)) -> Response:
        if web.requester_of(request) is not None:
            return RedirectResponse(_safe_next(next), status_code=303)
        return web.html("signin.html", next=_safe_next(next), error=None)

    @router.post("/signin")
    def signin(
        request: Request, key: str = Form("", max_length=512), next: str = Form("/", max_length=2000)
    ) -> Response:
        try:
            who = web.verifier.requester(key.strip())
        except AuthenticationError as exc:
            web.api.policy_guard.record_unauthenticated("/signin", "web", exc.message, key.strip() or None)
            return web.html(
                "signin.html", status=401, next=_safe_next(next), error="That API key is not valid."
            )
        token = web.sessions.create(key.strip(), who)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(web.sessions.lifetime),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/signout")
    def signout(request: Request) -> Response:
        web.sessions.end(request.cookies.get(COOKIE))
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.get("/")
    def index(
        request: Request, q: str | None = Query(None, max_length=1000), page: int = Query(1, ge=1, le=100000)
    ) -> Response:
        def build(who: str) -> Response:
            result = pages.browse(who, q, _filters(request), page)
            return web.html("index.html", result=result, **web.chrome(who))

        return web.page(request, build)

    @router.get("/contracts/{source_type}/{object_name}")
    def contract(
        request: Request, source_type: str, object_name: str, version: str | None = Query(None, max_length=64)
    ) -> Response:
        def build(who: str) -> Response:
            data = pages.contract(who, source_type, object_name, version)
            return web.html("contract.html", page=data, **web.chrome(who))

        return web.page(request, build)

    @router.get("/contracts/{source_type}/{object_name}/diff")
    def diff(
        request: Request,
        source_type: str,
        object_name: str,
        old: str = Query(..., alias="from", max_length=64),
        new: str = Query(..., alias="to", max_length=64),
    ) -> Response:
        def build(who: str) -> Response:
            data = pages.diff(who, source_type, object_name, old, new)
            return web.html("diff.html", diff=data, **web.chrome(who))

        return web.page(request, build)

    @router.get("/lineage/graph.json")
    def graph_json(
        request: Request,
        node: str = Query(..., max_length=1024),
        up: int = Query(1, ge=0, le=10),
        down: int = Query(1, ge=0, le=10),
        columns: bool = Query(False),
    ) -> Response:
        who = web.requester_of(request)
        if who is None:
            return JSONResponse({"error": "AuthenticationError", "message": "sign in first"}, status_code=401)
        try:
            data = pages.neighbourhood(who, node, up, down, columns)
        except DativoError as exc:
            status = 404 if isinstance(exc, NotFoundError) else 403 if isinstance(exc, PolicyDenied) else 422
            return JSONResponse({"error": type(exc).__name__, "message": scrub_paths(exc.message)}, status)
        return JSONResponse(with_links(data, LINKS), headers={"Cache-Control": "no-store"})

    @router.get("/lineage/{source_type}/{object_name}")
    def lineage_of(request: Request, source_type: str, object_name: str) -> Response:
        def build(who: str) -> Response:
            node = pages.asset_node(who, source_type, object_name)
            return RedirectResponse(LINKS.lineage(node), status_code=303)

        return web.page(request, build)

    @router.get("/lineage")
    def lineage(
        request: Request,
        node: str = Query(..., max_length=1024),
        up: int = Query(2, ge=0, le=10),
        down: int = Query(2, ge=0, le=10),
    ) -> Response:
        def build(who: str) -> Response:
            graph = with_links(pages.neighbourhood(who, node, up, down), LINKS)
            return web.html("lineage.html", graph=graph, up=up, down=down, **web.chrome(who))

        return web.page(request, build)

    @router.get("/runs")
    def runs(
        request: Request,
        tenant: str | None = Query(None, max_length=255),
        days: int = Query(30, ge=1, le=366),
    ) -> Response:
        def build(who: str) -> Response:
            data = pages.runs(who, tenant or None, days)
            return web.html("runs.html", data=data, **web.chrome(who))

        return web.page(request, build)

    @router.get("/audit")
    def audit(request: Request, requester: str | None = Query(None, max_length=255)) -> Response:
        def build(who: str) -> Response:
            rows = pages.audit(who, who=requester or None)
            return web.html("audit.html", rows=rows, filter_requester=requester or "", **web.chrome(who))

        return web.page(request, build)

    return router


def mount_catalog(app: FastAPI, api: AIContextAPI, verifier: KeyVerifier) -> CatalogWeb:
    """Serve the catalog on ``app``: its pages, ``/static``, and an HTML 404 for unknown page paths."""
    web_api = AIContextAPI(  # the same registry, store and policy; audited under the "web" channel
        api._registry,
        api._lineage,
        api.policy_guard,
        store=api.store,
        channel="web",
        index_refresh_seconds=api.index_refresh_seconds,
    )
    web = CatalogWeb(web_api, verifier)
    app.include_router(catalog_router(web))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="catalog-static")

    @app.get("/{path:path}", include_in_schema=False)
    def not_found(request: Request, path: str) -> Response:
        if request.url.path.startswith(API_PREFIXES):
            return JSONResponse({"error": "NotFoundError", "message": "no such route"}, status_code=404)
        who = web.requester_of(request)
        if who is None:
            return web.signin_page(request, status=401)
        return web.error_page(NotFoundError(f"no page {quote(request.url.path)}"), who)

    return web
