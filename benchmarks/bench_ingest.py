"""Ingestion benchmarks (issue 7), each a ratio against a baseline measured in the same run.

P1, the run: CSV -> validation -> Iceberg with quarantine, lineage and FinOps on (``run_job``) against
the bare baseline "pyarrow reads the whole CSV, pyiceberg appends it, no validation". Targets:
throughput >= 1.0x the baseline's, peak RSS < 1 GB.

P2, validation only, on the same data as Parquet: dativo's vectorised validator against
``datacontract test`` (datacontract-cli 1.2.8 in its own venv at ``benchmarks/.work/dcvenv``) running
equivalent rules. Targets: >= 2x faster, at most half its peak memory.

Each contender runs in a fresh subprocess that reports its own wall time (imports excluded), CPU
time, peak RSS, the load average when it started and what it wrote (data files, bytes, row groups,
compression). Both run with the same Arrow thread pools (``--threads``, default: the machine's cores).
Printed first: the commit, CPU model and SIMD flags, Python and library versions, Arrow's pools and
allocator, and pyiceberg's default write settings, which are what the figures depend on.
Data: the customers shape (~143 bytes a CSV row), about 0.1% of rows invalid, deterministic.

    .venv/bin/python benchmarks/bench_ingest.py --rows 5000000      # the issue's scale (~714 MB CSV)
    .venv/bin/python benchmarks/bench_ingest.py --rows 200000       # quick
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import cpu_model, report, versions  # noqa: E402

WORK = HERE / ".work"

CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: bench-customers
name: bench_customers
version: "1.0.0"
source_type: bench
object: customers
team: {owner: bench@example.com}
schema:
  - {name: id, type: string, required: true, unique: true}
  - {name: email, type: string, required: true, logicalTypeOptions: {pattern: "^[^@]+@[^@]+$"}}
  - {name: name, type: string}
  - {name: phone, type: string}
  - {name: status, type: string, required: true}
  - {name: country, type: string, logicalTypeOptions: {maxLength: 2}}
  - {name: city, type: string}
  - {name: balance, type: long, logicalTypeOptions: {minimum: 0}}
  - {name: currency, type: string}
  - {name: created_at, type: timestamp, required: true}
data_quality:
  expectations:
    - {type: accepted_values, column: status, values: [active, inactive, suspended]}
    - {type: accepted_values, column: currency, values: [usd, eur, gbp]}
"""

DATACONTRACT = """\
dataContractSpecification: 1.1.0
id: bench-customers
info: {title: bench customers, version: 1.0.0}
servers:
  local: {type: local, path: "{path}", format: parquet}
models:
  customers:
    type: table
    fields:
      id: {type: string, required: true, unique: true}
      email: {type: string, required: true, pattern: "^[^@]+@[^@]+$"}
      name: {type: string}
      phone: {type: string}
      status: {type: string, required: true, enum: [active, inactive, suspended]}
      country: {type: string, maxLength: 2}
      city: {type: string}
      balance: {type: long, minimum: 0}
      currency: {type: string, enum: [usd, eur, gbp]}
      created_at: {type: timestamp, required: true}
"""


# ----- data -------------------------------------------------------------------------------------
def generate(rows: int, folder: Path) -> tuple[Path, Path]:
    """customers.csv and customers/part.parquet with ``rows`` rows (~0.1% invalid), built with NumPy."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv_path, parquet_path = folder / f"customers_{rows}.csv", folder / f"customers_{rows}" / "part.parquet"
    if csv_path.exists() and parquet_path.exists():
        return csv_path, parquet_path
    parquet_path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    cities = np.array(["Berlin", "Paris", "London", "Madrid", "Rome", "Lisbon", "Vienna", "Dublin"])
    csv_writer = parquet_writer = None
    chunk = 500_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        idx = np.arange(start, start + n)
        ids = pc.binary_join_element_wise("cus_", pc.utf8_lpad(pa.array(idx.astype(str)), 14, "0"), "")
        created = np.datetime64("2023-01-01T00:00:00") + rng.integers(0, 86400 * 700, n).astype(
            "timedelta64[s]"
        )
        table = pa.table(
            {
                "id": ids,
                "email": pc.binary_join_element_wise("user", pa.array(idx.astype(str)), "@example.com", ""),
                "name": pc.binary_join_element_wise("Customer ", pa.array((idx % 99991).astype(str)), ""),
                "phone": pc.binary_join_element_wise(
                    "+4930", pa.array(rng.integers(1000000, 9999999, n).astype(str)), ""
                ),
                "status": pa.array(np.array(["active", "inactive", "suspended"])[rng.integers(0, 3, n)]),
                "country": pa.array(np.array(["DE", "FR", "GB", "ES", "IT"])[rng.integers(0, 5, n)]),
                "city": pa.array(cities[rng.integers(0, len(cities), n)]),
                "balance": pa.array(rng.integers(0, 100000, n)),
                "currency": pa.array(np.array(["usd", "eur", "gbp"])[rng.integers(0, 3, n)]),
                "created_at": pa.array(created.astype("datetime64[us]")).cast(pa.timestamp("us", tz="UTC")),
            }
        )
        # ~0.1% invalid: missing email, unknown status, negative balance, duplicate id
        bad = rng.random(n) < 0.001
        kind = rng.integers(0, 4, n)

        def spoil(t: pa.Table, col: str, k: int, value, bad=bad, kind=kind) -> pa.Table:
            mask = pa.array(bad & (kind == k))
            column = t.column(col)
            return t.set_column(
                t.schema.get_field_index(col), col, pc.if_else(mask, pa.scalar(value, column.type), column)
            )

        table = spoil(table, "email", 0, None)
        table = spoil(table, "status", 1, "bogus")
        table = spoil(table, "balance", 2, -5)
        table = spoil(table, "id", 3, "cus_00000000000000")
        if csv_writer is None:
            csv_writer = pacsv.CSVWriter(
                csv_path, table.schema, write_options=pacsv.WriteOptions(quoting_style="needed")
            )
            parquet_writer = pq.ParquetWriter(parquet_path, table.schema, compression="zstd")
        csv_writer.write_table(table)
        parquet_writer.write_table(table)
    csv_writer.close()
    parquet_writer.close()
    return csv_path, parquet_path


# ----- contenders (run in subprocesses) ----------------------------------------------------------
CHILD_PRELUDE = """
import json, os, resource, sys, time
import pyarrow as _pa
# the same Arrow thread pools on both sides, whatever the machine would pick (recorded with the figures)
_pa.set_cpu_count(int(os.environ["BENCH_THREADS"]))
_pa.set_io_thread_count(int(os.environ["BENCH_THREADS"]))
def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
_CPU0, _LOAD = _cpu(), os.getloadavg()[0]
def begin():
    \"\"\"Start the clock (and the CPU count); the load average is recorded here.\"\"\"
    global _CPU0, _LOAD
    _CPU0, _LOAD = _cpu(), os.getloadavg()[0]
    return time.perf_counter()
def done(start, end=None, **extra):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    end = time.perf_counter() if end is None else end
    print("RESULT " + json.dumps({"seconds": end - start, "peak_rss_mb": rss, "cpu_seconds": _cpu() - _CPU0,
                                  "load": _LOAD, **extra}))
def written(table):
    \"\"\"What the run wrote to ``table``: data files, bytes, row groups, compression of the first file.\"\"\"
    import pyarrow.parquet as pq
    files = table.inspect.files().to_pylist()
    meta = pq.ParquetFile(table.io.new_input(files[0]["file_path"]).open()).metadata if files else None
    return {"data_files": len(files), "data_bytes": sum(f["file_size_in_bytes"] for f in files),
            "row_groups_first_file": meta.num_row_groups if meta else 0,
            "compression": meta.row_group(0).column(0).compression if meta else None}
"""

P1_DATIVO = (
    CHILD_PRELUDE
    + """
from dativo_ingest.ingest import load_job, run_job
# what a long-running worker has loaded already (the baseline imports pyiceberg before its clock too)
import dativo_ingest.contracts, dativo_ingest.finops, dativo_ingest.lineage, pyiceberg.catalog.sql, duckdb
job = load_job(sys.argv[1])
start = begin()
result = run_job(job)
end, cpu = time.perf_counter(), _cpu()
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from dativo_ingest.workspace import Workspace
table = load_catalog_for(CatalogConfig(), Workspace.current().warehouse).load_table(result.target)
done(start, end, rows_written=result.rows_written, rows_quarantined=result.rows_quarantined,
     status=result.status, written=written(table), cpu_seconds=cpu - _CPU0)
"""
)

P1_BASELINE = (
    CHILD_PRELUDE
    + """
import pyarrow.csv as pacsv
from pyiceberg.catalog import load_catalog
catalog = load_catalog("base", type="sql", uri="sqlite:///" + sys.argv[2] + "/catalog.db",
                       warehouse="file://" + sys.argv[2])
start = begin()
frame = pacsv.read_csv(sys.argv[1])
import pyarrow as pa  # Iceberg stores microseconds: the one adjustment the bare baseline needs
fields = [pa.field(f.name, pa.timestamp("us", tz=f.type.tz)) if pa.types.is_timestamp(f.type) else f
          for f in frame.schema]
frame = frame.cast(pa.schema(fields))
catalog.create_namespace_if_not_exists("bronze")
table = catalog.create_table("bronze.customers", schema=frame.schema)
table.append(frame)
end, cpu = time.perf_counter(), _cpu()
done(start, end, rows_written=frame.num_rows, written=written(table), cpu_seconds=cpu - _CPU0)
"""
)

P2_DATIVO = (
    CHILD_PRELUDE
    + """
from pathlib import Path
from dativo_ingest.config import AssetDefinition
from dativo_ingest.ingest.rules import compile_rules
from dativo_ingest.ingest.sources import SourceContext, build_source
from dativo_ingest.ingest.validation import Validator
rules = compile_rules(AssetDefinition.from_yaml(sys.argv[2]))
validator = Validator(rules)
source = build_source("parquet", {"path": sys.argv[1]},
                      SourceContext(Path.cwd(), {c.name: c.type for c in rules.columns}, 131072))
from dativo_ingest.ingest.memory import run_memory_pool
bad = 0
start = begin()
with run_memory_pool():  # as `dativo run` does
    # dativo's Parquet source (decodes ahead on a background thread), validated as `dativo run` does
    for _batch, outcome in validator.validate_stream(source.batches()):
        bad += outcome.failed_count
done(start, rows_failed=bad, failures=dict(validator.failures))
"""
)

P2_DATACONTRACT = (
    CHILD_PRELUDE
    + """
import subprocess
start = time.perf_counter()
proc = subprocess.run([sys.argv[1], "test", sys.argv[2]], capture_output=True, text=True)
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print("RESULT " + json.dumps({"seconds": time.perf_counter() - start, "peak_rss_mb": child,
                              "returncode": proc.returncode, "tail": proc.stdout[-300:]}))
"""
)


THREADS = os.cpu_count() or 1  # Arrow's CPU and I/O pools in every child (--threads)


def child(code: str, *args: str) -> dict:
    env = {**os.environ, "BENCH_THREADS": str(THREADS)}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=HERE.parent, env=env
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"benchmark child failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def p1(rows: int, csv_path: Path, folder: Path) -> dict:
    ws = folder / f"p1_ws_{rows}"
    shutil.rmtree(ws, ignore_errors=True)
    (ws / "jobs").mkdir(parents=True)
    (ws / "contract.yaml").write_text(CONTRACT)
    (ws / "jobs" / "bench.yaml").write_text(
        f"tenant_id: bench\nname: p1\nasset: ../contract.yaml\n"
        f"source: {{type: csv, path: '{csv_path}'}}\ntarget: {{namespace: bronze}}\n"
        f"finops: {{cost_center: bench}}\n"
    )
    base_ws = folder / f"p1_base_{rows}"
    shutil.rmtree(base_ws, ignore_errors=True)
    base_ws.mkdir()
    os.environ["DATIVO_HOME"] = str(ws)
    baseline = child(P1_BASELINE, str(csv_path), str(base_ws))
    dativo = child(P1_DATIVO, str(ws / "jobs" / "bench.yaml"))
    ratio = (rows / dativo["seconds"]) / (rows / baseline["seconds"])
    return report(
        f"P1 ingest CSV -> validated Iceberg, {rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB)",
        {
            "baseline_rows_per_s": round(rows / baseline["seconds"]),
            "dativo_rows_per_s": round(rows / dativo["seconds"]),
            "baseline_peak_rss_mb": round(baseline["peak_rss_mb"]),
            "dativo_peak_rss_mb": round(dativo["peak_rss_mb"]),
            "baseline_cpu_seconds": round(baseline["cpu_seconds"], 2),
            "dativo_cpu_seconds": round(dativo["cpu_seconds"], 2),
            "load_average_at_start (baseline / dativo)": f"{baseline['load']:.2f} / {dativo['load']:.2f}",
            "baseline_wrote": baseline["written"],
            "dativo_wrote": dativo["written"],
            "dativo_rows_written": dativo["rows_written"],
            "dativo_rows_quarantined": dativo["rows_quarantined"],
        },
        ratio=ratio,
        target=">= 1.0x throughput, dativo peak RSS < 1024 MB",
    )


def p2(rows: int, parquet_path: Path, folder: Path) -> dict:
    contract = folder / "p2_contract.yaml"
    contract.write_text(CONTRACT)
    dativo = child(P2_DATIVO, str(parquet_path), str(contract))
    dc_bin = WORK / "dcvenv" / "bin" / "datacontract"
    figures = {
        "dativo_seconds": round(dativo["seconds"], 3),
        "dativo_peak_rss_mb": round(dativo["peak_rss_mb"]),
        "dativo_rows_failed": dativo["rows_failed"],
    }
    if not dc_bin.exists():
        figures["datacontract"] = (
            "not installed (pip install 'datacontract-cli[duckdb]==1.2.8' into .work/dcvenv)"
        )
        return report(f"P2 validate Parquet, {rows:,} rows", figures)
    spec = folder / "p2_datacontract.yaml"
    spec.write_text(DATACONTRACT.replace("{path}", str(parquet_path)))
    baseline = child(P2_DATACONTRACT, str(dc_bin), str(spec))
    figures.update(
        {
            "datacontract_seconds": round(baseline["seconds"], 3),
            "datacontract_peak_rss_mb": round(baseline["peak_rss_mb"]),
            "datacontract_returncode": baseline["returncode"],
        }
    )
    return report(
        f"P2 validate Parquet, {rows:,} rows",
        figures,
        ratio=baseline["seconds"] / dativo["seconds"],
        target=">= 2x faster, <= 0.5x datacontract's peak RSS",
    )


def environment() -> dict:
    """What the figures depend on: the commit measured, CPU, Python and library versions (also
    datacontract-cli's and its DuckDB's, from its own venv), printed before the figures."""
    commit = subprocess.run(
        ["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    figures = {"commit": commit or "unknown", "cpu": cpu_model(), "cpu_flags": cpu_flags()}
    figures.update(versions("dativo-ingest", "pyarrow", "pyiceberg", "numpy", "duckdb", "mmh3"))
    figures.update(arrow_settings())
    figures["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    dc_python = WORK / "dcvenv" / "bin" / "python"
    if dc_python.exists():
        probe = "from importlib.metadata import version as v; print(v('datacontract-cli'), v('duckdb'))"
        out = subprocess.run([str(dc_python), "-c", probe], capture_output=True, text=True).stdout.split()
        if len(out) == 2:
            figures["datacontract-cli"], figures["datacontract_duckdb"] = out
    return report("environment", figures)


def cpu_flags() -> str:
    """The SIMD levels Arrow's and NumPy's kernels may use (from /proc/cpuinfo)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    flags = set(line.split(":", 1)[-1].split())
    wanted = ("sse4_2", "avx", "avx2", "bmi2", "avx512f", "avx512bw")
    return " ".join(f for f in wanted if f in flags) or "none"


def arrow_settings() -> dict:
    """What the two sides run with that no version pins: Arrow's pools, its allocators, pyiceberg's
    worker count and its default write settings (both tables use the defaults)."""
    import pyarrow as pa
    from pyiceberg.table import TableProperties

    try:
        pa.jemalloc_memory_pool()
        jemalloc = "yes"
    except (NotImplementedError, pa.ArrowNotImplementedError):
        jemalloc = "no"
    return {
        "arrow_threads (cpu / io, pinned)": f"{THREADS} / {THREADS}",
        "arrow_default_pool": pa.default_memory_pool().backend_name,
        "arrow_jemalloc": jemalloc,
        "pyiceberg_max_workers": os.environ.get("PYICEBERG_MAX_WORKERS", "default"),
        "iceberg_write_defaults": (
            f"{TableProperties.PARQUET_COMPRESSION_DEFAULT} level "
            f"{TableProperties.PARQUET_COMPRESSION_LEVEL_DEFAULT}, row group "
            f"{TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT:,} rows, target file "
            f"{TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT // 2**20} MB"
        ),
    }


def main() -> None:
    global THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--only", choices=["p1", "p2"], default=None)
    parser.add_argument(
        "--threads", type=int, default=THREADS, help="Arrow CPU and I/O threads in each child"
    )
    args = parser.parse_args()
    THREADS = args.threads
    folder = WORK / "ingest"
    folder.mkdir(parents=True, exist_ok=True)
    environment()
    started = time.perf_counter()
    csv_path, parquet_path = generate(args.rows, folder)
    print(
        f"data ready in {time.perf_counter() - started:.1f} s: "
        f"{csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB)"
    )
    if args.only in (None, "p1"):
        p1(args.rows, csv_path, folder)
    if args.only in (None, "p2"):
        p2(args.rows, parquet_path, folder)


if __name__ == "__main__":
    main()
