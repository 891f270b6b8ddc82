"""AI context API benchmark: 10,000 registered contracts; search latency and HTTP throughput.

1. Registers N contracts (default 10,000) through ``ContractManager.save_contract`` into a workspace
   (reused when ``--workspace`` already holds them) and builds the search index.
   Words of names, descriptions, tags and queries follow a Zipf law over ``--vocabulary`` words
   (default 2,000; ``--vocabulary 43`` is a stress corpus where every word matches ~30% of contracts).
2. Search: 1,000 varied queries (free text, filters, both) as a non-elevated requester, each a full
   ``AIContextAPI.search_assets`` call including its audit write. Target p99 < 10 ms. Baseline: a
   linear scan over the same contracts' summaries in memory (what a naive catalogue does).
3. HTTP: ``dativo serve``'s app in a uvicorn subprocess with one extra bare FastAPI endpoint;
   concurrent keep-alive clients alternate between ``GET /v1/assets/{source}/{object}`` (random
   contracts, API-key auth, policy, audit) and the bare endpoint. Target: context throughput >= 0.5x bare.

Run: ``.venv/bin/python benchmarks/bench_context_api.py [--contracts 10000] [--workspace DIR]``
(``--http-only`` skips part 2; ``--rounds``/``--seconds`` set the HTTP rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Timing, report

BASE_WORDS = [
    "customer",
    "order",
    "invoice",
    "payment",
    "refund",
    "subscription",
    "account",
    "balance",
    "ledger",
    "shipment",
    "product",
    "inventory",
    "warehouse",
    "supplier",
    "campaign",
    "click",
    "session",
    "device",
    "region",
    "currency",
    "tax",
    "discount",
    "coupon",
    "employee",
    "payroll",
    "ticket",
    "support",
    "review",
    "rating",
    "churn",
    "forecast",
    "budget",
    "contract",
    "partner",
    "lead",
    "opportunity",
    "quote",
    "plan",
    "usage",
    "event",
    "metric",
    "alert",
    "incident",
]


def vocabulary(size: int) -> tuple[list[str], list[float]]:
    """``size`` words (the base list first, then made-up ones) with Zipf weights (word k ~ 1/k)."""
    rng = random.Random(3)
    words = list(BASE_WORDS[:size])
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "qu", "dra", "fen", "gor", "hul"]
    seen = set(words)
    while len(words) < size:
        w = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words, [1.0 / (k + 1) for k in range(len(words))]


WORDS, WEIGHTS = vocabulary(2000)


def pick(rng: random.Random, k: int = 1) -> list[str]:
    out: list[str] = []
    while len(out) < k:
        w = rng.choices(WORDS, WEIGHTS)[0]
        if w not in out:
            out.append(w)
    return out


SOURCES = [f"src{i:02d}" for i in range(50)]
LABELS = [None, None, None, "PII", "SENSITIVE", "INTERNAL"]
POLICY = {"allowed_requesters": ["bench-agent"], "elevated_requesters": ["bench-admin"]}

SERVER = r"""
import sys, uvicorn
from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
from dativo_ingest.server.http import create_app
app = create_app(AIContextAPI(policy_guard=PolicyGuard(__POLICY__), channel="http"), mcp=False)

@app.get("/bench/bare")
def bare() -> dict:
    return {"ok": True}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def contract(i: int, rng: random.Random) -> dict:
    source = SOURCES[i % len(SOURCES)]
    words = pick(rng, 3)
    fields = [{"name": "id", "type": "string", "required": True, "description": "identifier"}]
    for j in range(rng.randint(3, 8)):
        label = rng.choice(LABELS)
        field = {
            "name": f"{pick(rng)[0]}_{j}",
            "type": rng.choice(["string", "long", "timestamp"]),
            "description": f"{' '.join(pick(rng, 2))} value",
        }
        if label:
            field["classification"] = label
        fields.append(field)
    return {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": f"c-{i}",
        "name": f"{source}_{words[0]}_{i}",
        "version": "1.0.0",
        "status": "active",
        "source_type": source,
        "object": f"{words[0]}_{i}",
        "team": {"owner": f"team{i % 20}@example.com"},
        "domain": f"domain{i % 10}",
        "tags": [words[1], words[2]],
        "description": {"purpose": f"{words[0]} {words[1]} data of {words[2]}"},
        "compliance": {"classification": ["PII"] if i % 4 == 0 else []},
        "schema": fields,
    }


def register(workspace: Path, n: int) -> float:
    from dativo_ingest.config import AssetDefinition
    from dativo_ingest.contracts import ContractManager

    manager = ContractManager(specs_dir=workspace / "specs")
    have = len(manager.list_contracts())
    rng = random.Random(7)
    start = time.perf_counter()
    for i in range(n):
        data = contract(i, rng)
        if i < have:
            continue
        manager.save_contract(AssetDefinition.from_dict(data), author="bench@example.com")
        if (i + 1) % 1000 == 0:
            print(f"  registered {i + 1}/{n}", flush=True)
    return time.perf_counter() - start


def queries(rng: random.Random, count: int) -> list[dict]:
    out = []
    for i in range(count):
        kind = i % 4
        q: dict = {}
        if kind in (0, 1, 3):
            q["query"] = " ".join(pick(rng, 1 + (i % 2)))
        if kind in (1, 2):
            q["tags"] = pick(rng)
        if kind == 2:
            q["classification"] = ["PII"]
        if kind == 3:
            q["domain"] = f"domain{rng.randrange(10)}"
        out.append(q)
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def naive_scan(summaries: list[dict], q: dict) -> list[dict]:
    terms = (q.get("query") or "").lower().split()
    hits = []
    for s in summaries:
        text = s["text"]
        score = sum(text.count(t) for t in terms)
        if terms and not score:
            continue
        if q.get("tags") and not set(q["tags"]) & set(s["tags"]):
            continue
        if q.get("domain") and s["domain"] != q["domain"]:
            continue
        hits.append((-score, s["key"]))
    return sorted(hits)[:10]


async def load(url: str, paths: list[str], headers: dict, seconds: float, concurrency: int) -> float:
    import httpx

    done = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_keepalive_connections=concurrency, max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:

        async def worker(offset: int) -> None:
            nonlocal done
            i = offset
            while time.perf_counter() < stop:
                r = await client.get(paths[i % len(paths)])
                if r.status_code != 200:
                    raise RuntimeError(f"{r.status_code}: {r.text[:200]}")
                done += 1
                i += concurrency

        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating HTTP rounds (median reported)")
    parser.add_argument("--http-only", action="store_true", help="skip the search benchmark (part 2)")
    parser.add_argument(
        "--vocabulary", type=int, default=2000, help="distinct words (Zipf); 43 = stress test"
    )
    args = parser.parse_args()
    global WORDS, WEIGHTS
    WORDS, WEIGHTS = vocabulary(args.vocabulary)
    workspace = (args.workspace or Path(tempfile.mkdtemp(prefix="dativo-bench-"))).resolve()
    workspace.mkdir(parents=True, exist_ok=True)
    os.environ["DATIVO_HOME"] = str(workspace)
    os.environ.pop("DATIVO_DATABASE_URL", None)
    os.chdir(workspace)

    print(f"workspace {workspace}")
    register_s = register(workspace, args.contracts)

    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.server.keys import create_key
    from dativo_ingest.store import search

    api = AIContextAPI(policy_guard=PolicyGuard(POLICY))
    start = time.perf_counter()
    indexed = api.refresh_index()
    index_s = time.perf_counter() - start
    total = len(search.versions(api.store))
    assert total >= args.contracts, total

    rng = random.Random(11)
    if not args.http_only:
        qs = queries(rng, args.queries)
        for q in qs[:50]:  # warm-up
            api.search_assets(requester="bench-agent", **q)
        timing = Timing("search_assets")
        hits = 0
        for q in qs:
            t = time.perf_counter()
            hits += len(api.search_assets(requester="bench-agent", **q))
            timing.samples.append(time.perf_counter() - t)

        summaries = []
        registry = api.catalog.registry
        for s, o, v in registry.list_contracts():
            a = api.catalog.get(s, o, v)
            text = " ".join(
                [
                    a.name or "",
                    a.description.purpose if a.description else "",
                    " ".join(a.tags),
                    " ".join(f.name + " " + (f.description or "") for f in a.fields),
                ]
            ).lower()
            summaries.append({"key": f"{s}/{o}", "text": text, "tags": a.tags, "domain": a.domain})
        naive = Timing("naive scan")
        for q in qs[:200]:
            t = time.perf_counter()
            naive_scan(summaries, q)
            naive.samples.append(time.perf_counter() - t)

        report(
            f"AI context API search over {total} contracts",
            {
                "contracts_registered": total,
                "register_seconds": round(register_s, 1),
                "index_build_seconds": round(index_s, 2),
                "indexed_now": indexed,
                "queries": len(qs),
                "mean_hits": round(hits / len(qs), 2),
                "search_p50_ms": timing.percentile(50) * 1000,
                "search_p99_ms": timing.percentile(99) * 1000,
                "naive_scan_p50_ms": naive.percentile(50) * 1000,
                "naive_scan_p99_ms": naive.percentile(99) * 1000,
                "p99_target_met": timing.percentile(99) * 1000 < 10,
            },
            ratio=naive.percentile(99) / timing.percentile(99),
            target="search p99 < 10 ms (ratio: naive scan p99 / search p99)",
        )

    # ----- HTTP throughput --------------------------------------------------------------------------
    _, key = create_key(api.store, "bench-agent")
    port = free_port()
    code = SERVER.replace("__POLICY__", json.dumps(POLICY))
    server = subprocess.Popen([sys.executable, "-c", code, str(port)], env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        keys = [k for k in search.versions(api.store)]
        rng.shuffle(keys)
        ctx_paths = [f"/v1/assets/{k}" for k in keys[:5000]]
        headers = {"Authorization": f"Bearer {key}"}
        asyncio.run(load(url, ctx_paths, headers, 1.0, args.concurrency))  # warm-up
        asyncio.run(load(url, ["/bench/bare"], headers, 1.0, args.concurrency))
        bare, ctx = [], []
        for _ in range(args.rounds):
            bare.append(asyncio.run(load(url, ["/bench/bare"], headers, args.seconds, args.concurrency)))
            ctx.append(asyncio.run(load(url, ctx_paths, headers, args.seconds, args.concurrency)))
    finally:
        server.terminate()
        server.wait(10)
    bare_rps, ctx_rps = statistics.median(bare), statistics.median(ctx)
    with open("/proc/loadavg") as f:
        load_avg = " ".join(f.read().split()[:3])
    report(
        "AI context API HTTP get_asset_context vs bare FastAPI endpoint (same server, same run)",
        {
            "concurrency": args.concurrency,
            "bare_rps": round(bare_rps, 1),
            "context_rps": round(ctx_rps, 1),
            "bare_rounds": [round(x, 1) for x in bare],
            "context_rounds": [round(x, 1) for x in ctx],
            "load_average": load_avg,
            "target_met": ctx_rps >= 0.5 * bare_rps,
        },
        ratio=ctx_rps / bare_rps,
        target=">= 0.5x",
    )


if __name__ == "__main__":
    main()
