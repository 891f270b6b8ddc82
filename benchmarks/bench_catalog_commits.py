"""Iceberg catalog commit rate: how many run commits a catalog takes per second, alone and contended.

Each commit is what one run does at its end, through dativo's own target (``IcebergTarget``): open the
table, stage one small Parquet data file (``--rows`` rows), commit one snapshot carrying a run key. Writers
are processes (``--writers``), each making ``--commits`` commits to the SAME table as fast as it can, so
with more than one writer commits conflict and are retried (optimistic concurrency). Two catalogs:

- ``sqlite-local``: the default, a SQL catalog on SQLite with the warehouse on local disk;
- ``pg-s3``: the shared one, a SQL catalog on PostgreSQL (``--postgres`` or ``DATIVO_TEST_POSTGRES_URL``,
  a schema of its own, dropped afterwards) with the warehouse on S3 (moto's server on 127.0.0.1, in this
  process, which also counts the object-store requests each commit makes).

At the end every commit must be in the table's history (no lost commit) and the row count must be
``writers * commits * rows``; otherwise the benchmark exits 1.

    python benchmarks/bench_catalog_commits.py --commits 20 --writers 1 4
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import cpu_model, machine, versions

from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.base import RUN_KEY
from dativo_ingest.ingest.targets.catalog import load_catalog_for
from dativo_ingest.ingest.targets.iceberg import IcebergTarget

SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
KEYS = {"access_key_id": "AKIABENCHKEY", "secret_access_key": "bench-secret-key"}


class _Counting(logging.Handler):
    """Counts log records whose message matches one of ``words`` (conflict retries, S3 requests)."""

    def __init__(self, *words: str) -> None:
        super().__init__(logging.DEBUG)
        self.words = words
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for word in self.words:
            if word in message:
                self.seen[word] += 1


def _writer(
    config: dict[str, Any], warehouse: str, writer: int, commits: int, rows: int, ready: Any, out: Any
) -> None:
    conflicts = _Counting("concurrent update", "commit conflict")
    logging.getLogger().addHandler(conflicts)
    logging.getLogger().setLevel(logging.INFO)
    catalog = CatalogConfig.model_validate(config)
    batch = pa.record_batch(
        [pa.array(range(writer * 10**9, writer * 10**9 + rows), pa.int64()), pa.array(["x"] * rows)],
        schema=SCHEMA,
    )
    latencies: list[float] = []
    ready.wait()
    for n in range(commits):
        started = time.perf_counter()
        target = IcebergTarget(catalog, Path(warehouse), "bench", "commits")
        target.open(SCHEMA, quarantine=False, table_properties={})
        target.write(batch)
        target.commit({RUN_KEY: f"w{writer}-c{n}-{uuid.uuid4().hex[:6]}"})
        latencies.append(time.perf_counter() - started)
    out.put({"latencies": latencies, "conflicts": sum(conflicts.seen.values())})


def _round(config: dict[str, Any], warehouse: str, writers: int, commits: int, rows: int) -> dict[str, Any]:
    """``writers`` processes committing ``commits`` times each; the figures and the reconciliation."""
    context = multiprocessing.get_context("spawn")
    ready, out = context.Barrier(writers + 1), context.Queue()
    children = [
        context.Process(target=_writer, args=(config, warehouse, w, commits, rows, ready, out))
        for w in range(writers)
    ]
    for child in children:
        child.start()
    ready.wait()
    started = time.perf_counter()
    parts = [out.get(timeout=1800) for _ in children]
    elapsed = time.perf_counter() - started
    for child in children:
        child.join(timeout=30)
    table = load_catalog_for(CatalogConfig.model_validate(config), Path(warehouse)).load_table(
        "bench.commits"
    )
    snapshots = len(table.metadata.snapshots)
    total_rows = table.scan().to_arrow().num_rows
    latencies = sorted(s for p in parts for s in p["latencies"])
    return {
        "writers": writers,
        "commits": writers * commits,
        "seconds": round(elapsed, 2),
        "commits_per_sec": round(writers * commits / elapsed, 2),
        "commit_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "commit_p99_ms": round(
            latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))] * 1000, 1
        ),
        "conflict_retries": sum(p["conflicts"] for p in parts),
        "snapshots": snapshots,
        "rows": total_rows,
        "ok": snapshots == writers * commits and total_rows == writers * commits * rows,
    }


def _drop_table(config: dict[str, Any], warehouse: str) -> None:
    catalog = load_catalog_for(CatalogConfig.model_validate(config), Path(warehouse))
    if catalog.table_exists("bench.commits"):
        catalog.purge_table("bench.commits")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=20, help="commits per writer (20)")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4], help="writer counts to run (1 4)")
    parser.add_argument("--rows", type=int, default=1000, help="rows per commit (1000)")
    parser.add_argument("--catalog", choices=("all", "sqlite-local", "pg-s3"), default="all")
    parser.add_argument("--postgres", default=os.environ.get("DATIVO_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    info = {
        "machine": machine(),
        "cpu": cpu_model(),
        "versions": versions("pyiceberg", "pyarrow", "sqlalchemy", "psycopg", "moto"),
        "command": "python benchmarks/bench_catalog_commits.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    reports: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-commits-") as folder:
        if args.catalog in ("all", "sqlite-local"):
            warehouse = str(Path(folder) / "warehouse")
            for writers in args.writers:
                config: dict[str, Any] = {"type": "sql", "name": f"b{uuid.uuid4().hex[:6]}"}
                reports.append(
                    {"catalog": "sqlite-local", **_round(config, warehouse, writers, args.commits, args.rows)}
                )
                _drop_table(config, warehouse)
        if args.catalog in ("all", "pg-s3"):
            if not args.postgres:
                print("pg-s3 skipped: give --postgres or set DATIVO_TEST_POSTGRES_URL", file=sys.stderr)
            else:
                reports += _pg_s3(args, folder)
    if args.json:
        print(json.dumps({"info": info, "reports": reports}, indent=2))
    else:
        print(f"# {info['machine']}; {info['cpu']}")
        print("# " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
        print(f"# {info['command']}")
        for r in reports:
            s3 = (
                f", S3 requests/commit {r['s3_requests_per_commit']}" if "s3_requests_per_commit" in r else ""
            )
            print(
                f"{r['catalog']:<13} {r['writers']} writer(s): {r['commits']} commits in {r['seconds']} s = "
                f"{r['commits_per_sec']} commits/s; commit p50 {r['commit_p50_ms']} ms "
                f"p99 {r['commit_p99_ms']} ms; "
                f"{r['conflict_retries']} conflict retries{s3}; snapshots {r['snapshots']}, rows {r['rows']} "
                f"({'reconcile' if r['ok'] else 'MISMATCH'})"
            )
    return 0 if reports and all(r["ok"] for r in reports) else 1


def _pg_s3(args: argparse.Namespace, folder: str) -> list[dict[str, Any]]:
    import boto3
    from moto.server import ThreadedMotoServer

    requests = _Counting("GET ", "PUT ", "HEAD ", "POST ", "DELETE ")
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.setLevel(logging.INFO)
    werkzeug.propagate = False
    werkzeug.addHandler(requests)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEYS["access_key_id"],
        aws_secret_access_key=KEYS["secret_access_key"],
    ).create_bucket(Bucket="bench")
    schema = f"t_shared_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine("postgresql+psycopg://" + args.postgres.split("://", 1)[1])
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    reports = []
    try:
        for writers in args.writers:
            config = {
                "type": "sql",
                "name": f"b{uuid.uuid4().hex[:6]}",
                "uri": f"{args.postgres}?options=-csearch_path%3D{schema}",
                "warehouse": "s3://bench/lake",
                "s3": {"endpoint": endpoint, "region": "us-east-1", "path_style": True, **KEYS},
            }
            requests.seen.clear()
            result = _round(config, folder, writers, args.commits, args.rows)
            made = sum(requests.seen.values())  # the verification scan's reads count too (a few)
            result["s3_requests"] = dict(requests.seen)
            result["s3_requests_per_commit"] = round(made / result["commits"], 1)
            reports.append({"catalog": "pg-s3", **result})
            _drop_table(config, folder)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()
        server.stop()
    return reports


if __name__ == "__main__":
    raise SystemExit(main())
