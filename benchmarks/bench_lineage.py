"""Lineage traversal: 100,000 nodes / 300,000 edges in the SQLite store, downstream walk to depth 10.

Graph shape: 1,000 pipelines of 100 nodes (10 layers x 10 nodes, like source -> staging -> marts); each
node feeds 3 nodes of the next layer (270 edges per pipeline) and 30 edges per pipeline cross into the
next pipeline, so a walk from a source spills over into several neighbouring pipelines.

Candidate: ``LineageTracker.get_downstream_lineage(node, max_depth=10)`` (one recursive CTE, nodes and
edges decoded). Baselines in the same run: an in-memory BFS over a Python adjacency dict holding the
same graph, and one indexed lookup of a node's direct children. Target: p99 < 50 ms.

Run: ``.venv/bin/python benchmarks/bench_lineage.py [--pipelines 1000] [--queries 200]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import deque
from itertools import cycle
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Timing, report
from sqlalchemy import select

from dativo_ingest.lineage import LineageTracker
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.lineage import lineage_edges, lineage_nodes

LAYERS, WIDTH, FANOUT, CROSS = 10, 10, 3, 30
STAMP = "2026-01-01T00:00:00.000000Z"


def node_id(pipeline: int, layer: int, slot: int) -> str:
    kind = "source" if layer == 0 else "dbt"
    return f"{kind}://p{pipeline:04d}/l{layer}/n{slot}"


def generate(pipelines: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    nodes, edges = [], []
    for p in range(pipelines):
        for layer in range(LAYERS):
            kind = "source" if layer == 0 else "dbt_model"
            for slot in range(WIDTH):
                nid = node_id(p, layer, slot)
                nodes.append(
                    {
                        "id": nid,
                        "kind": kind,
                        "name": nid,
                        "attributes": "{}",
                        "created_at": STAMP,
                        "updated_at": STAMP,
                    }
                )
        for layer in range(LAYERS - 1):
            for slot in range(WIDTH):
                for child in rng.sample(range(WIDTH), FANOUT):
                    edges.append((node_id(p, layer, slot), node_id(p, layer + 1, child)))
        other = (p + 1) % pipelines
        cross: set[tuple[str, str]] = set()
        while len(cross) < CROSS:
            layer = rng.randrange(LAYERS - 1)
            cross.add(
                (node_id(p, layer, rng.randrange(WIDTH)), node_id(other, layer + 1, rng.randrange(WIDTH)))
            )
        edges.extend(sorted(cross))
    unique = sorted(set(edges))
    rows = [
        {"src_id": s, "dst_id": d, "edge_type": "ref", "attributes": "{}", "created_at": STAMP}
        for s, d in unique
    ]
    return nodes, rows


def bfs(adjacency: dict[str, list[str]], start: str, max_depth: int) -> dict[str, int]:
    depth = {start: 0}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if depth[current] == max_depth:
            continue
        for child in adjacency.get(current, ()):
            if child not in depth:
                depth[child] = depth[current] + 1
                queue.append(child)
    del depth[start]
    return depth


def sample(name: str, fn, args: list, repeat: int) -> Timing:
    timing = Timing(name)
    for arg in args[:5]:  # warm-up
        fn(arg)
    for arg, _ in zip(cycle(args), range(repeat), strict=False):
        start = time.perf_counter()
        fn(arg)
        timing.samples.append(time.perf_counter() - start)
    return timing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipelines", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--url", default=None, help="store URL (default: a temporary SQLite file)")
    opts = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = opts.url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    began = time.perf_counter()
    nodes, edges = generate(opts.pipelines)
    store = MetadataStore(url)
    with store.begin() as conn:
        conn.execute(lineage_nodes.insert(), nodes)
        conn.execute(lineage_edges.insert(), edges)
    if store.dialect == "sqlite":
        with store.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    load_s = time.perf_counter() - began

    tracker = LineageTracker(store, openlineage=False)
    adjacency: dict[str, list[str]] = {}
    for e in edges:
        adjacency.setdefault(e["src_id"], []).append(e["dst_id"])
    rng = random.Random(11)
    starts = [node_id(rng.randrange(opts.pipelines), 0, rng.randrange(WIDTH)) for _ in range(opts.queries)]

    reached = [len(tracker.get_downstream_lineage(s, max_depth=10)) for s in starts[:20]]
    assert reached[:5] == [len(bfs(adjacency, s, 10)) for s in starts[:5]], "CTE and BFS disagree"

    def one_lookup(start: str) -> list:
        with store.connect() as conn:
            return conn.execute(select(lineage_edges.c.dst_id).where(lineage_edges.c.src_id == start)).all()

    cte = sample(
        "downstream CTE depth 10",
        lambda s: tracker.get_downstream_lineage(s, max_depth=10),
        starts,
        opts.queries,
    )
    ends = [node_id(int(s[10:14]), LAYERS - 1, rng.randrange(WIDTH)) for s in starts]
    upstream = sample(
        "upstream CTE depth 10", lambda s: tracker.get_upstream_lineage(s, max_depth=10), ends, opts.queries
    )
    memory = sample("in-memory BFS depth 10", lambda s: bfs(adjacency, s, 10), starts, opts.queries)
    lookup = sample("one indexed lookup", one_lookup, starts, opts.queries)

    p99 = cte.percentile(99)
    report(
        f"lineage traversal ({store.dialect})",
        {
            "nodes": len(nodes),
            "edges": len(edges),
            "generate_and_load_s": round(load_s, 2),
            "reached_nodes_median": sorted(reached)[len(reached) // 2],
            "downstream_p50_ms": round(cte.median * 1000, 2),
            "downstream_p99_ms": round(p99 * 1000, 2),
            "upstream_p99_ms": round(upstream.percentile(99) * 1000, 2),
            "memory_bfs_p99_ms": round(memory.percentile(99) * 1000, 3),
            "indexed_lookup_p99_ms": round(lookup.percentile(99) * 1000, 3),
            "ratio_vs_indexed_lookup": round(p99 / lookup.percentile(99), 1),
            "meets_target": p99 < 0.050,
        },
        ratio=p99 / memory.percentile(99),
        target="downstream p99 < 50 ms; ratio is CTE p99 / in-memory BFS p99",
    )
    MetadataStore.dispose_all()
    tmp.cleanup()


if __name__ == "__main__":
    main()
