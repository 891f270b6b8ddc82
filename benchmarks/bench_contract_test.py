"""``dativo contract test`` against ``datacontract test`` (issue 13), on the same data in the same run.

C1, PostgreSQL: one table of N rows (default 5,000,000) with ten checks (not null x3, unique, accepted
values x2, range, pattern, length x2) and seeded violations. dativo compiles them to SQL aggregates run
inside the database (one scan, plus one GROUP BY for uniqueness); the baseline is datacontract-cli 1.2.8
with its postgres extra on the same table. Targets: >= 3x faster, <= 0.5x its peak memory.

C2, Iceberg: the same rows as an Iceberg table (a local SQL catalog over the very Parquet files the
baseline reads, registered with ``add_files``), streamed through the ingestion validator, against
datacontract-cli on those Parquet files. Targets: >= 2x faster, dativo peak RSS < 1 GB.

dativo runs with ``--no-record`` (nothing stored, as datacontract-cli stores nothing); the same
command with the quality history and lineage run stored (the default) is reported beside it. Both
contenders are the real command lines, each run in a fresh process whose wall time (imports
included, for both) and peak RSS (``ru_maxrss`` of the child) a small wrapper reports. datacontract-cli
lives in its own venv (default ``/tmp/dcvenv``; ``--dc-venv``), created on first use by
``python3 -m venv /tmp/dcvenv`` and
``/tmp/dcvenv/bin/pip install 'datacontract-cli[postgres,duckdb,parquet]==1.2.8'`` (``--install-dc``).
The PostgreSQL table is named ``t_bench_attest_<rows>`` and dropped
at the end (``--keep`` keeps it for a rerun).

    DATIVO_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python benchmarks/bench_contract_test.py --rows 5000000   # the issue's scale
    ... --rows 200000                                                     # quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import cpu_model, report, versions  # noqa: E402

WORK = HERE / ".work" / "contract_test"
FILES = 8  # Parquet files (the Iceberg table's data files too)

CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: bench-orders
name: bench_orders
version: 1.0.0
status: active
servers:
  - {{server: pg, type: postgres, host: "{host}", port: {port}, database: {database}, schema: public,
     username: "{user}"}}
  - {{server: lake, type: custom, format: iceberg, schema: bench, catalog: bench, uri: "sqlite:///{warehouse}/catalog.db",
     warehouse: "file://{warehouse}"}}
schema:
  - name: {table}
    physicalName: {table}
    properties:
      - {{name: id, logicalType: integer, required: true, unique: true}}
      - {{name: email, logicalType: string, required: true,
         logicalTypeOptions: {{pattern: "^[^@]+@[^@]+$"}}}}
      - {{name: status, logicalType: string, required: true,
         logicalTypeOptions: {{enum: [paid, open, void]}}}}
      - {{name: currency, logicalType: string, logicalTypeOptions: {{enum: [usd, eur, gbp]}}}}
      - {{name: amount, logicalType: number, logicalTypeOptions: {{minimum: 0, maximum: 100000}}}}
      - {{name: code, logicalType: string, logicalTypeOptions: {{minLength: 4, maxLength: 8}}}}
      - {{name: country, logicalType: string, logicalTypeOptions: {{maxLength: 2}}}}
"""

DATACONTRACT = """\
dataContractSpecification: 1.1.0
id: bench-orders
info: {{title: bench orders, version: 1.0.0}}
servers:
  pg: {{type: postgres, host: "{host}", port: {port}, database: {database}, schema: public}}
  files: {{type: local, path: "{parquet}/*.parquet", format: parquet}}
models:
  {table}:
    type: table
    fields:
      id: {{type: integer, required: true, unique: true}}
      email: {{type: string, required: true, pattern: "^[^@]+@[^@]+$"}}
      status: {{type: string, required: true, enum: [paid, open, void]}}
      currency: {{type: string, enum: [usd, eur, gbp]}}
      amount: {{type: double, minimum: 0, maximum: 100000}}
      code: {{type: string, minLength: 4, maxLength: 8}}
      country: {{type: string, maxLength: 2}}
"""

#: Runs one command line; reports its wall time and the peak RSS of that child.
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print("RESULT " + json.dumps({"seconds": seconds, "peak_rss_mb": rss, "returncode": proc.returncode,
                              "stdout": proc.stdout[-20000:], "stderr": proc.stderr[-3000:]}))
"""


def generate(rows: int, folder: Path) -> tuple[Path, Path, dict[str, int]]:
    """Deterministic rows as ``FILES`` Parquet files and one CSV (for COPY); about 0.1% of the rows break
    each check. Returns the Parquet folder, the CSV and the seeded count per check."""
    parquet = folder / f"parquet_{rows}"
    csv = folder / f"rows_{rows}.csv"
    seeded_file = folder / f"seeded_{rows}.json"
    if parquet.exists() and csv.exists() and seeded_file.exists():
        return parquet, csv, json.loads(seeded_file.read_text())
    shutil.rmtree(parquet, ignore_errors=True)
    parquet.mkdir(parents=True)
    rng = np.random.default_rng(13)
    ids = np.arange(1, rows + 1, dtype=np.int64)
    statuses = np.array(["paid", "open", "void"])[rng.integers(0, 3, rows)].astype(object)
    currencies = np.array(["usd", "eur", "gbp"])[rng.integers(0, 3, rows)].astype(object)
    amounts = np.round(rng.uniform(0, 100000, rows), 2)
    codes = np.array(["abcd", "abcde", "abcdef", "abcdefgh"])[rng.integers(0, 4, rows)].astype(object)
    countries = np.array(["us", "de", "fr", "gb"])[rng.integers(0, 4, rows)].astype(object)
    emails = np.char.add(np.char.add("user", ids.astype(str)), "@example.com").astype(object)
    k = max(1, rows // 1000)
    picks = rng.permutation(rows)
    seeded: dict[str, int] = {}

    def spoil(name: str, start: int, apply) -> None:
        chosen = picks[start * k : (start + 1) * k]
        apply(chosen)
        seeded[name] = len(chosen)

    id_null = np.zeros(rows, dtype=bool)
    spoil("not_null:id", 0, lambda r: id_null.__setitem__(r, True))
    dup_rows = picks[k : 2 * k]
    ids[dup_rows] = ids[picks[2 * k : 3 * k]]  # each repeats another row's id
    seeded["unique:id"] = k
    spoil("regex:email", 3, lambda r: emails.__setitem__(r, "no-at-sign"))
    spoil("accepted_values:status", 4, lambda r: statuses.__setitem__(r, "PAID"))
    spoil("accepted_values:currency", 5, lambda r: currencies.__setitem__(r, "jpy"))
    spoil("range:amount", 6, lambda r: amounts.__setitem__(r, -1.0))
    spoil("length:code", 7, lambda r: codes.__setitem__(r, "abc"))
    spoil("length:country", 8, lambda r: countries.__setitem__(r, "usa"))
    email_null = picks[9 * k : 10 * k]
    emails[email_null] = None
    seeded["not_null:email"] = k
    status_null = picks[10 * k : 11 * k]
    statuses[status_null] = None
    seeded["not_null:status"] = k
    table = pa.table(
        {
            "id": pa.array(ids, mask=id_null),
            "email": pa.array(emails, pa.string()),
            "status": pa.array(statuses, pa.string()),
            "currency": pa.array(currencies, pa.string()),
            "amount": pa.array(amounts),
            "code": pa.array(codes, pa.string()),
            "country": pa.array(countries, pa.string()),
        }
    )
    step = -(-rows // FILES)
    for i in range(FILES):
        part = table.slice(i * step, step)
        if part.num_rows:
            pq.write_table(part, parquet / f"part-{i:02d}.parquet", row_group_size=131072)
    pacsv.write_csv(table, csv)
    seeded_file.write_text(json.dumps(seeded))
    return parquet, csv, seeded


def load_postgres(url: str, table: str, csv: Path) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(
            f"CREATE TABLE {table} (id BIGINT, email TEXT, status TEXT, currency TEXT, "
            "amount DOUBLE PRECISION, code TEXT, country TEXT)"
        )
        statement = f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)"
        with conn.cursor() as cur, cur.copy(statement) as copy, csv.open("rb") as handle:
            while block := handle.read(1 << 20):
                copy.write(block)
        conn.execute(f"ANALYZE {table}")


def drop_postgres(url: str, table: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def make_iceberg(warehouse: Path, table: str, parquet: Path) -> None:
    """An Iceberg table over the Parquet files themselves (``add_files``: no copy, same bytes)."""
    from pyiceberg.catalog import load_catalog

    shutil.rmtree(warehouse, ignore_errors=True)
    warehouse.mkdir(parents=True)
    catalog = load_catalog(
        "bench", type="sql", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}"
    )
    catalog.create_namespace_if_not_exists("bench")
    files = sorted(str(p) for p in parquet.glob("*.parquet"))
    iceberg = catalog.create_table(f"bench.{table}", schema=pq.read_schema(files[0]))
    iceberg.add_files(files)


def run(*command: str, env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command],
        capture_output=True,
        text=True,
        cwd=WORK,
        env={**os.environ, **(env or {})},
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"benchmark child failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def dativo(contract: Path, server: str, home: Path, record: bool = False) -> dict:
    """``dativo contract test`` storing nothing, as datacontract-cli (``record``: with the quality history
    and the lineage run stored, as by default)."""
    result = run(
        sys.executable, "-m", "dativo_ingest", "contract", "test", str(contract), "--server", server,
        "--json", "--record" if record else "--no-record",
        env={"DATIVO_HOME": str(home), "OPENLINEAGE_DISABLED": "true"},
    )  # fmt: skip
    if result["returncode"] not in (0, 1):
        raise RuntimeError(f"dativo contract test failed: {result['stderr']}")
    checks = json.loads(result["stdout"])["checks"]
    result["failed"] = {c["id"]: c["failed"] for c in checks}
    return result


def datacontract(dc: Path, spec: Path, server: str, user: str) -> dict:
    env = {
        "DATACONTRACT_POSTGRES_USERNAME": user,
        "DATACONTRACT_POSTGRES_PASSWORD": os.environ.get("PGPASSWORD", "unused-with-trust-auth"),
    }
    result = run(str(dc / "bin" / "datacontract"), "test", str(spec), "--server", server, env=env)
    result["summary"] = result["stdout"][-600:]
    return result


def environment(dc: Path) -> None:
    figures = {"cpu": cpu_model()}
    figures.update(versions("dativo-ingest", "pyarrow", "pyiceberg", "sqlglot", "sqlalchemy", "psycopg"))
    probe = (
        "from importlib.metadata import version as v; "
        "print(v('datacontract-cli'), v('duckdb'), v('ibis-framework'))"
    )
    out = subprocess.run(
        [str(dc / "bin" / "python"), "-c", probe], capture_output=True, text=True
    ).stdout.split()
    if len(out) == 3:
        figures["datacontract-cli"], figures["datacontract_duckdb"], figures["datacontract_ibis"] = out
    server = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    figures["postgres_client"] = server or "unknown"
    report("environment", figures)


def install_datacontract(dc: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(dc)], check=True)
    subprocess.run(
        [str(dc / "bin" / "pip"), "install", "-q", "datacontract-cli[postgres,duckdb,parquet]==1.2.8"],
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--only", choices=["postgres", "iceberg"], default=None)
    parser.add_argument("--dc-venv", type=Path, default=Path("/tmp/dcvenv"))
    parser.add_argument("--install-dc", action="store_true", help="create the datacontract-cli venv first")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL table")
    args = parser.parse_args()
    url = os.environ.get("DATIVO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    if args.install_dc or not (args.dc_venv / "bin" / "datacontract").exists():
        install_datacontract(args.dc_venv)
    from sqlalchemy.engine import make_url

    pg = make_url(url)
    WORK.mkdir(parents=True, exist_ok=True)
    environment(args.dc_venv)
    table = f"t_bench_attest_{args.rows}"
    started = time.perf_counter()
    parquet, csv, seeded = generate(args.rows, WORK)
    print(f"data ready in {time.perf_counter() - started:.1f} s: {args.rows:,} rows, {FILES} Parquet files")
    warehouse = WORK / f"warehouse_{args.rows}"
    values = {
        "host": pg.host or "127.0.0.1",
        "port": pg.port or 5432,
        "database": pg.database,
        "user": pg.username or "postgres",
        "table": table,
        "warehouse": warehouse,
        "parquet": parquet,
    }
    contract = WORK / "contract.odcs.yaml"
    contract.write_text(CONTRACT.format(**values))
    spec = WORK / "datacontract.yaml"
    spec.write_text(DATACONTRACT.format(**values))
    home = WORK / "home"
    home.mkdir(exist_ok=True)
    try:
        if args.only in (None, "postgres"):
            started = time.perf_counter()
            load_postgres(url, table, csv)
            print(f"PostgreSQL table {table} loaded in {time.perf_counter() - started:.1f} s")
            ours = dativo(contract, "pg", home)
            theirs = datacontract(args.dc_venv, spec, "pg", values["user"])
            ours["recorded"] = dativo(contract, "pg", home, record=True)
            compare(
                f"C1 PostgreSQL, {args.rows:,} rows, 10 checks",
                ours,
                theirs,
                seeded,
                3.0,
                "<= 0.5x its peak RSS",
            )
        if args.only in (None, "iceberg"):
            make_iceberg(warehouse, table, parquet)
            ours = dativo(contract, "lake", home)
            theirs = datacontract(args.dc_venv, spec, "files", values["user"])
            ours["recorded"] = dativo(contract, "lake", home, record=True)
            compare(
                f"C2 Iceberg vs Parquet files, {args.rows:,} rows, 10 checks",
                ours,
                theirs,
                seeded,
                2.0,
                "RSS < 1024 MB",
            )
    finally:
        if not args.keep:
            drop_postgres(url, table)


def compare(title: str, ours: dict, theirs: dict, seeded: dict[str, int], speed: float, memory: str) -> None:
    figures = {
        "dativo_seconds": round(ours["seconds"], 2),
        "dativo_peak_rss_mb": round(ours["peak_rss_mb"]),
        "datacontract_seconds": round(theirs["seconds"], 2),
        "datacontract_peak_rss_mb": round(theirs["peak_rss_mb"]),
        "datacontract_returncode": theirs["returncode"],
        "memory_ratio": round(ours["peak_rss_mb"] / theirs["peak_rss_mb"], 2),
        "dativo_counts_match_seeded": ours["failed"] == seeded,
        "dativo_recording_seconds": round(ours["recorded"]["seconds"], 2),
        "dativo_recording_peak_rss_mb": round(ours["recorded"]["peak_rss_mb"]),
    }
    if ours["failed"] != seeded:
        figures["dativo_failed"] = ours["failed"]
        figures["seeded"] = seeded
    report(title, figures, ratio=theirs["seconds"] / ours["seconds"], target=f">= {speed}x faster, {memory}")
    print("  datacontract said: " + " | ".join(theirs["summary"].strip().splitlines()[-4:]))


if __name__ == "__main__":
    main()
