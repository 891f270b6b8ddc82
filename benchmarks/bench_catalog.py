"""Web catalog benchmark: 10,000 contracts; server-side page render latency and lineage in the browser.

1. Registers N contracts (default 10,000, the corpus of ``bench_context_api.py``) into a workspace
   (reused when ``--workspace`` already holds them) and records a lineage graph in which one contract's
   node reaches 1,010 nodes downstream (10 transformations, 100 tables, 900 dbt models).
2. Server-side render: ``dativo serve``'s app, signed in as a non-elevated requester, answers the index
   (first page, a text query, a facet filter, a deep page) and contract pages of random contracts;
   each request is a full page view (session check, policy decision, audit row, Jinja render).
   Baseline: a bare FastAPI route returning the same page data as JSON. Target p99 < 100 ms.
3. Lineage in the browser (Playwright, Debian's Chromium): the lineage page of the node with 1,010
   reachable nodes, from navigation to the graph laid out and interactive (``data-graph-ready``).
   Baseline: the same neighbourhood fetched as JSON from a bare route and parsed in the same browser.
   Target < 1.5 s.

Run: ``.venv/bin/python benchmarks/bench_catalog.py [--contracts 10000] [--workspace DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_context_api as corpus
from harness import Timing, cpu_model, machine, report, versions

POLICY = {"elevated_requesters": ["bench-admin"]}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def record_lineage(store: Any, root_asset: Any) -> str:
    """A fan-out under the asset's node: 10 transformations -> 100 tables -> 900 models (1,010 nodes)."""
    from dativo_ingest.lineage_graph.tracker import LineageTracker

    tracker = LineageTracker(store, openlineage=False)
    root = tracker.add_asset_node(root_asset)
    if len(tracker.get_downstream_lineage(root.id, max_depth=5)) >= 1000:
        return root.id
    for t in range(10):
        step = tracker.add_transformation_node(f"step_{t}", scope="bench")
        tracker.add_edge(root.id, step.id, "applies")
        for k in range(10):
            table = tracker.add_target_node("iceberg", "bronze", f"bench_{t}_{k}")
            tracker.add_edge(step.id, table.id, "writes_to")
            for m in range(9):
                model = tracker.add_dbt_model_node(f"model.bench.m_{t}_{k}_{m}")
                tracker.add_edge(table.id, model.id, "feeds")
    return root.id


def percentiles(t: Timing) -> dict[str, float]:
    return {
        "p50_ms": round(t.percentile(50) * 1000, 2),
        "p99_ms": round(t.percentile(99) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=300, help="page requests per page kind")
    parser.add_argument("--browser-rounds", type=int, default=5)
    args = parser.parse_args()
    corpus.WORDS, corpus.WEIGHTS = corpus.vocabulary(2000)
    workspace = (args.workspace or Path(tempfile.mkdtemp(prefix="dativo-bench-catalog-"))).resolve()
    workspace.mkdir(parents=True, exist_ok=True)
    os.environ["DATIVO_HOME"] = str(workspace)
    os.environ.pop("DATIVO_DATABASE_URL", None)
    os.chdir(workspace)
    print(f"workspace {workspace}")
    print(f"machine: {machine()}; CPU: {cpu_model()}")
    print(
        "versions:", versions("dativo-ingest", "fastapi", "starlette", "jinja2", "sqlalchemy", "playwright")
    )
    register_s = corpus.register(workspace, args.contracts)

    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from fastapi.testclient import TestClient

    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.catalog_pages import CatalogPages
    from dativo_ingest.server.http import create_app
    from dativo_ingest.server.keys import create_key

    api = AIContextAPI(policy_guard=PolicyGuard(POLICY), channel="http")
    api.refresh_index()
    listed = api.contract_manager.list_contracts()
    assert len(listed) >= args.contracts, len(listed)
    root_asset = api.catalog.get(listed[0][0], listed[0][1])
    root_node = record_lineage(api.store, root_asset)

    app = create_app(api, mcp=False)
    _, key = create_key(api.store, "bench-viewer")
    client = TestClient(app)
    assert client.post("/signin", data={"key": key, "next": "/"}, follow_redirects=False).status_code == 303

    # the baseline: a bare route returning the same page data as JSON (no session, policy, audit, HTML)
    pages = CatalogPages(api)
    bare = FastAPI()
    rng = random.Random(5)
    sample = [rng.choice(listed) for _ in range(args.requests)]
    words = corpus.pick(random.Random(9), 50)
    index_data = {
        "first": pages.browse("bench-viewer").__dict__,
        "query": {w: pages.browse("bench-viewer", w).__dict__ for w in words},
        "facet": pages.browse("bench-viewer", None, {"classification": ["PII"]}).__dict__,
        "deep": pages.browse("bench-viewer", page=300).__dict__,
    }
    contract_data = {f"{s}/{o}": pages.contract("bench-viewer", s, o, None) for s, o, _ in sample}

    @bare.get("/index/{kind}")
    def bare_index(kind: str, q: str = "") -> JSONResponse:
        data = index_data["query"][q] if kind == "query" else index_data[kind]
        return JSONResponse(json.loads(json.dumps(data, default=str)))

    @bare.get("/contract/{source}/{obj}")
    def bare_contract(source: str, obj: str) -> JSONResponse:
        return JSONResponse(json.loads(json.dumps(contract_data[f"{source}/{obj}"], default=str)))

    bare_client = TestClient(bare)

    def index_paths(i: int) -> tuple[str, str]:
        kind = ("first", "query", "facet", "deep")[i % 4]
        word = words[i % len(words)]
        page = {"first": "/", "query": f"/?q={word}", "facet": "/?classification=PII", "deep": "/?page=300"}[
            kind
        ]
        return page, f"/index/{kind}?q={word if kind == 'query' else ''}"

    def timed(client: TestClient, paths: list[str], name: str) -> Timing:
        for p in paths[:20]:
            assert client.get(p).status_code == 200, p
        t = Timing(name)
        for p in paths:
            start = time.perf_counter()
            response = client.get(p)
            t.samples.append(time.perf_counter() - start)
            assert response.status_code == 200, p
        return t

    pairs = [index_paths(i) for i in range(args.requests)]
    index_t = timed(client, [p for p, _ in pairs], "index page")
    index_b = timed(bare_client, [b for _, b in pairs], "bare index JSON")
    contract_paths = [f"/contracts/{s}/{o}" for s, o, _ in sample]
    contract_t = timed(client, contract_paths, "contract page")
    contract_b = timed(bare_client, [f"/contract/{s}/{o}" for s, o, _ in sample], "bare contract JSON")

    report(
        f"catalog pages over {len(listed)} contracts (server-side render)",
        {
            "contracts": len(listed),
            "register_seconds": round(register_s, 1),
            "requests_per_kind": args.requests,
            "index": percentiles(index_t),
            "index_bare_json": percentiles(index_b),
            "contract": percentiles(contract_t),
            "contract_bare_json": percentiles(contract_b),
            "p99_target_met": max(index_t.percentile(99), contract_t.percentile(99)) < 0.1,
        },
        ratio=max(index_t.percentile(99), contract_t.percentile(99))
        / max(index_b.percentile(99), contract_b.percentile(99)),
        target="index and contract p99 < 100 ms (ratio: page p99 / bare JSON p99, lower is better)",
    )

    # ----- lineage in the browser -------------------------------------------------------------------
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} missing: lineage browser benchmark skipped")
        return
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.ai.server_util import running

    graph = pages.neighbourhood("bench-viewer", root_node, 0, 10)
    assert len(graph["nodes"]) >= 1000, len(graph["nodes"])

    @app.get("/bench/graph.json")
    def bare_graph() -> JSONResponse:
        return JSONResponse(graph)

    app.router.routes.insert(0, app.router.routes.pop())  # before the catalog's catch-all
    with running(app) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=url, viewport={"width": 1360, "height": 900})
        page = context.new_page()
        page.goto("/signin")
        page.fill("#key", key)
        page.click("form[action='/signin'] button[type=submit]")
        page.wait_for_selector("#hits")
        lineage = Timing("lineage page interactive")
        baseline = Timing("bare graph JSON in the browser")
        splits: list[list[int]] = []
        from urllib.parse import quote

        target = f"/lineage?node={quote(root_node, safe='')}&up=0&down=10"
        for _ in range(args.browser_rounds + 1):
            start = time.perf_counter()
            page.goto(target)
            page.wait_for_selector("body[data-graph-ready='true']", timeout=60_000)
            lineage.samples.append(time.perf_counter() - start)
            shown = page.evaluate("dativoGraph.nodes().length")
            splits.append(
                page.evaluate(
                    "(() => { const t = window.dativoGraphTiming;"
                    " const n = performance.getEntriesByType('navigation')[0];"
                    " return [n.responseEnd, t.script, t.added, t.laidOut, t.painted || t.laidOut]"
                    ".map(Math.round); })()"
                )
            )
            start = time.perf_counter()
            page.goto("/bench/graph.json")
            page.evaluate("JSON.parse(document.body.innerText).nodes.length")
            baseline.samples.append(time.perf_counter() - start)
        lineage.samples.pop(0)  # the first round warms the browser cache
        baseline.samples.pop(0)
        splits.pop(0)
        browser.close()
    split = [sorted(column)[len(column) // 2] for column in zip(*splits, strict=True)]
    print(
        "  lineage split (median ms after navigation): response end {}, script start {},"
        " elements added {}, laid out {}, first paint {}".format(*split)
    )
    print(f"  load average: {os.getloadavg()}")
    report(
        "lineage page in the browser (Chromium, Playwright)",
        {
            "visible_nodes": shown,
            "lineage_interactive_median_s": round(lineage.median, 3),
            "lineage_interactive_max_s": round(max(lineage.samples), 3),
            "bare_json_median_s": round(baseline.median, 3),
            "target_met": max(lineage.samples) < 1.5,
        },
        ratio=lineage.median / baseline.median,
        target="lineage page interactive < 1.5 s with 1,000 nodes (ratio: page / bare JSON, lower is better)",
    )


if __name__ == "__main__":
    main()
