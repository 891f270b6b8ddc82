"""The metadata store under load: many concurrent writers of runs, lineage and audit rows.

Each writer loops (bounded by ``--seconds`` and ``--max-iterations``) over what one ingestion run writes:
lineage START, an upsert of its job node and of a dataset node that every writer shares (row contention),
an edge between them, the FinOps run with its charges, an audit row, lineage COMPLETE. Every write goes
through the store's public functions (``GraphRepository``, ``store.finops.insert_run``,
``store.audit.insert``) on its own transaction, as runs do. At the end the rows in the database are
counted against the writes that returned: a lost row, a failed write or a writer still stuck after the
deadline fails the drill (exit 1). Latencies are per write (p50/p99/max), throughput is writes per second.

    python benchmarks/bench_store_load.py --seconds 60                 # PostgreSQL + SQLite, 50 writers
    python benchmarks/bench_store_load.py --seconds 5 --backend sqlite  # a short run
    python benchmarks/bench_store_load.py --postgres postgresql://postgres@127.0.0.1:5432/test

PostgreSQL: ``--postgres`` or ``DATIVO_TEST_POSTGRES_URL``; the drill writes into a schema of its own
(``t_shared_bench_<hex>``), dropped afterwards. SQLite: a fresh file in a temporary folder. Writers are
threads spread over ``--processes`` processes (each process has its own connection pool, as separate
runs do). Only 127.0.0.1 databases are accepted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import cpu_model, machine, versions

from dativo_ingest.lineage_graph.model import LineageEdge, LineageNode
from dativo_ingest.store import MetadataStore
from dativo_ingest.store import audit as audit_store
from dativo_ingest.store import finops as finops_store
from dativo_ingest.store.lineage.repository import GraphRepository

SHARED_NODES = 4  # dataset nodes every writer upserts (the contended rows)
OPS = ("lineage_start", "node_job", "node_shared", "edge", "finops_run", "audit", "lineage_complete")


def _run_row(run_id: str, tenant: str, job: str) -> dict[str, Any]:
    """A ``finops_runs`` row with every column filled (zeros, like a run that measured nothing)."""
    now = datetime.now(UTC)
    row: dict[str, Any] = {}
    for column in finops_store.finops_runs.columns:
        python_type = getattr(column.type, "impl", column.type).python_type
        row[column.name] = {bool: False, int: 0, float: 0.0, dict: {}, str: ""}.get(python_type)
    row.update(
        run_id=run_id,
        tenant_id=tenant,
        job_name=job,
        cost_center="bench",
        started_at=now - timedelta(seconds=1),
        finished_at=now,
        execution_time_seconds=1.0,
        currency="USD",
        pricing_catalog="bench",
        pricing_version="1",
    )
    return row


_CHARGE = {
    "charge": "compute.cpu",
    "category": "compute",
    "quantity": "1",
    "unit": "cpu-second",
    "unit_price": "0.00001",
    "list_unit_price": "0.00001",
    "cost_nusd": 10000,
    "list_cost_nusd": 10000,
    "description": "bench",
}


def _writer(store: MetadataStore, tenant: str, writer: int, deadline: float, limit: int, out: dict) -> None:
    """One writer's loop; fills ``out`` with its acknowledged writes, latencies and errors."""
    repo = GraphRepository(store)
    latencies: dict[str, list[float]] = {op: [] for op in OPS}
    acked: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    job_node = LineageNode(f"job://{tenant}/w{writer}", "job", f"w{writer}", {"writer": writer})
    nodes: set[str] = set()
    edges: set[str] = set()

    def timed(op: str, call: Any, *args: Any) -> bool:
        started = time.perf_counter()
        try:
            call(*args)
        except Exception as exc:
            errors[f"{op}: {exc.__class__.__name__}: {str(exc).splitlines()[0][:160]}"] += 1
            return False
        latencies[op].append(time.perf_counter() - started)
        acked[op] += 1
        return True

    iteration = 0
    while time.monotonic() < deadline and iteration < limit:
        run_id = str(uuid.uuid4())
        shared = LineageNode(
            f"dataset://{tenant}/shared{iteration % SHARED_NODES}", "dataset", "shared", {"by": writer}
        )
        record = {
            "run_id": run_id,
            "tenant_id": tenant,
            "job_name": f"w{writer}",
            "status": "RUNNING",
            "timestamp": datetime.now(UTC).isoformat(),
            "metrics": {},
            "nodes": [{"id": job_node.id}, {"id": shared.id}],
            "edges": [],
        }
        timed("lineage_start", repo.save_run, record, "START", None)
        if timed("node_job", repo.upsert_node, job_node):
            nodes.add(job_node.id)
        if timed("node_shared", repo.upsert_node, shared):
            nodes.add(shared.id)
            if timed("edge", repo.add_edge, LineageEdge(job_node.id, shared.id, "writes_to")):
                edges.add(f"{job_node.id}>{shared.id}")
        row = _run_row(run_id, tenant, f"w{writer}")
        timed("finops_run", finops_store.insert_run, store, row, [_CHARGE])
        entry = {
            "requester": f"{tenant}:w{writer}",
            "channel": "cli",
            "action": "ingest",
            "resource_type": "table",
            "resource_id": f"bronze.t{writer}",
            "allowed": True,
            "outcome": "allowed",
            "reason": "bench",
            "details": {"run_id": run_id},
        }
        timed("audit", audit_store.insert, store, entry)
        done = {**record, "status": "COMPLETED", "timestamp": datetime.now(UTC).isoformat()}
        timed("lineage_complete", repo.save_run, done, "COMPLETE", None)
        iteration += 1
    out.update(
        latencies=latencies, acked=acked, errors=errors, iterations=iteration, nodes=nodes, edges=edges
    )


def _drive(
    url: str, tenant: str, writers: list[int], seconds: float, limit: int, ready: Any = None
) -> dict[str, Any]:
    """Run ``writers`` as threads in this process once every process is ready (``ready``, a barrier);
    their merged results, the seconds they took and how many were still stuck after the grace period."""
    store = MetadataStore(url)
    if ready is not None:
        ready.wait()
    started = time.monotonic()
    deadline = started + seconds
    results: list[dict[str, Any]] = [{} for _ in writers]
    threads = [
        threading.Thread(target=_writer, args=(store, tenant, w, deadline, limit, results[i]), daemon=True)
        for i, w in enumerate(writers)
    ]
    for thread in threads:
        thread.start()
    grace = deadline + 30  # a writer still in a write 30 s after the deadline is stuck (deadlock, hang)
    for thread in threads:
        thread.join(timeout=max(0.0, grace - time.monotonic()))
    elapsed = time.monotonic() - started
    stuck = sum(thread.is_alive() for thread in threads)
    merged: dict[str, Any] = {"latencies": {op: [] for op in OPS}, "acked": Counter(), "errors": Counter()}
    merged.update(iterations=0, nodes=set(), edges=set(), stuck=stuck, elapsed=elapsed)
    for result in results:
        if not result:
            continue
        for op in OPS:
            merged["latencies"][op] += result["latencies"][op]
        merged["acked"].update(result["acked"])
        merged["errors"].update(result["errors"])
        merged["iterations"] += result["iterations"]
        merged["nodes"] |= result["nodes"]
        merged["edges"] |= result["edges"]
    MetadataStore.dispose_all()
    return merged


def _drive_in_child(
    url: str, tenant: str, writers: list[int], seconds: float, limit: int, ready: Any, out: Any
) -> None:
    out.put(_drive(url, tenant, writers, seconds, limit, ready))


def _count(url: str, tenant: str) -> dict[str, int]:
    """Rows of this drill in the database, by what the writers acknowledged."""
    engine = _engine(url)
    like = f"{tenant}%"
    with engine.connect() as conn:

        def one(sql: str) -> int:
            return int(conn.execute(sa.text(sql), {"t": tenant, "like": like}).scalar_one())

        counts = {
            "lineage_start": one(
                "SELECT count(*) FROM lineage_runs WHERE tenant_id = :t AND event_type = 'START'"
            ),
            "lineage_complete": one(
                "SELECT count(*) FROM lineage_runs WHERE tenant_id = :t AND event_type = 'COMPLETE'"
            ),
            "finops_run": one("SELECT count(*) FROM finops_runs WHERE tenant_id = :t"),
            "finops_charges": one(
                "SELECT count(*) FROM finops_charges c JOIN finops_runs r ON r.run_id = c.run_id"
                " WHERE r.tenant_id = :t"
            ),
            "audit": one("SELECT count(*) FROM audit_log WHERE requester LIKE :like"),
            "nodes": one(
                "SELECT count(*) FROM lineage_nodes WHERE id LIKE 'job://' || :t || '/%'"
                " OR id LIKE 'dataset://' || :t || '/%'"
            ),
            "edges": one("SELECT count(*) FROM lineage_edges WHERE src_id LIKE 'job://' || :t || '/%'"),
        }
    engine.dispose()
    return counts


def _engine(url: str) -> sa.Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return sa.create_engine(url)


def _percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def drill(url: str, *, writers: int, seconds: float, processes: int, limit: int) -> dict[str, Any]:
    """One drill on ``url``; the report (``ok`` False on a lost row, a failed write or a stuck writer)."""
    tenant = f"bench{uuid.uuid4().hex[:10]}"
    MetadataStore(url)  # migrate before the clock starts
    MetadataStore.dispose_all()
    groups = [list(range(writers))[p::processes] for p in range(processes)]
    if processes == 1:
        parts = [_drive(url, tenant, groups[0], seconds, limit)]
    else:
        context = multiprocessing.get_context("spawn")
        ready, out = context.Barrier(processes), context.Queue()
        children = [
            context.Process(target=_drive_in_child, args=(url, tenant, g, seconds, limit, ready, out))
            for g in groups
        ]
        for child in children:
            child.start()
        parts = [out.get(timeout=seconds + 300) for _ in children]
        for child in children:
            child.join(timeout=30)
    elapsed = max(part["elapsed"] for part in parts)
    acked: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    latencies: dict[str, list[float]] = {op: [] for op in OPS}
    for part in parts:
        acked.update(part["acked"])
        errors.update(part["errors"])
        for op in OPS:
            latencies[op] += part["latencies"][op]
    stuck = sum(part["stuck"] for part in parts)
    counts = _count(url, tenant)
    expected = {
        "lineage_start": acked["lineage_start"],
        "lineage_complete": acked["lineage_complete"],
        "finops_run": acked["finops_run"],
        "finops_charges": acked["finops_run"],
        "audit": acked["audit"],
        "nodes": len(set().union(*(p["nodes"] for p in parts))),
        "edges": len(set().union(*(p["edges"] for p in parts))),
    }
    lost = {k: expected[k] - counts[k] for k in expected if counts[k] != expected[k]}
    writes = sum(acked.values())
    every = [s for op in OPS for s in latencies[op]]
    return {
        "backend": sa.engine.make_url(_engine(url).url).get_backend_name(),
        "writers": writers,
        "processes": processes,
        "seconds": round(elapsed, 1),
        "runs": sum(p["iterations"] for p in parts),
        "writes": writes,
        "writes_per_sec": round(writes / elapsed, 1),
        "runs_per_sec": round(sum(p["iterations"] for p in parts) / elapsed, 1),
        "latency_all": _percentiles(every),
        "latency": {op: _percentiles(latencies[op]) for op in OPS},
        "rows": counts,
        "mismatch": lost,
        "failed_writes": dict(errors.most_common(8)),
        "failed_total": sum(errors.values()),
        "stuck_writers": stuck,
        "ok": not lost and not errors and not stuck,
    }


def _local_only(url: str) -> None:
    host = urlsplit(url.replace("+psycopg", "")).hostname
    if host not in (None, "", "127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing a database that is not on this machine: {host}")


def _pg_schema(url: str) -> tuple[str, str]:
    """A schema of the drill's own on ``url``; (URL that uses it, schema name)."""
    schema = f"t_shared_bench_{uuid.uuid4().hex[:8]}"
    engine = _engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}", schema


def _drop_schema(url: str, schema: str) -> None:
    engine = _engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each drill writes (60)")
    parser.add_argument("--writers", type=int, default=50, help="concurrent writers (50)")
    parser.add_argument("--processes", type=int, default=5, help="processes the writers are spread over (5)")
    parser.add_argument("--max-iterations", type=int, default=100_000, help="runs per writer at most")
    parser.add_argument("--backend", choices=("all", "postgresql", "sqlite"), default="all")
    parser.add_argument("--postgres", default=os.environ.get("DATIVO_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="print the reports as JSON only")
    args = parser.parse_args(argv)
    if args.writers < 1 or args.processes < 1 or args.processes > args.writers:
        parser.error("need 1 <= --processes <= --writers")

    info = {
        "machine": machine(),
        "cpu": cpu_model(),
        "versions": versions("sqlalchemy", "psycopg", "dativo-ingest"),
        "command": "python benchmarks/bench_store_load.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    reports = []
    if args.backend in ("all", "postgresql"):
        if not args.postgres:
            print("PostgreSQL skipped: give --postgres or set DATIVO_TEST_POSTGRES_URL", file=sys.stderr)
        else:
            _local_only(args.postgres)
            url, schema = _pg_schema(args.postgres)
            try:
                with _engine(args.postgres).connect() as conn:
                    info["postgresql"] = conn.exec_driver_sql("SHOW server_version").scalar_one()
                reports.append(
                    drill(
                        url,
                        writers=args.writers,
                        seconds=args.seconds,
                        processes=args.processes,
                        limit=args.max_iterations,
                    )
                )
            finally:
                _drop_schema(args.postgres, schema)
    if args.backend in ("all", "sqlite"):
        with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
            url = f"sqlite:///{Path(folder) / 'store.db'}"
            info["sqlite"] = sqlite3.sqlite_version
            reports.append(
                drill(
                    url,
                    writers=args.writers,
                    seconds=args.seconds,
                    processes=args.processes,
                    limit=args.max_iterations,
                )
            )
    if args.json:
        print(json.dumps({"info": info, "reports": reports}, indent=2, default=str))
    else:
        print(f"# {info['machine']}; {info['cpu']}")
        print(
            "# "
            + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
            + "".join(f", {k} {info[k]}" for k in ("postgresql", "sqlite") if k in info)
        )
        print(f"# {info['command']}")
        for r in reports:
            lat = r["latency_all"]
            print(
                f"{r['backend']:<10} {r['writers']} writers/{r['processes']} procs {r['seconds']}s: "
                f"{r['runs']} runs, {r['writes']} writes, {r['writes_per_sec']} writes/s, "
                f"{r['runs_per_sec']} runs/s; latency p50 {lat['p50_ms']} ms p99 {lat['p99_ms']} ms "
                f"max {lat['max_ms']} ms; failed {r['failed_total']}, stuck {r['stuck_writers']}, "
                f"rows {'reconcile' if not r['mismatch'] else 'MISMATCH ' + json.dumps(r['mismatch'])}"
            )
            for op, p in r["latency"].items():
                print(
                    f"    {op:<17} p50 {p['p50_ms']:>8} ms  p99 {p['p99_ms']:>8} ms  max {p['max_ms']:>8} ms"
                )
            for error, n in r["failed_writes"].items():
                print(f"    failed x{n}: {error}")
    return 0 if reports and all(r["ok"] for r in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
