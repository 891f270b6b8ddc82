"""Ray engine benchmark (issue 17): the same CSV -> validated Iceberg run on the single-process engine and
on the Ray engine with two local workers, each in a fresh subprocess, against a Ray cluster started once
before (its start time is printed apart).

The two engines run ``--rounds`` times, alternated (single, Ray, single, Ray, ...), so a noisy
neighbour's load falls on both alike. Prints: every run's wall time and CPU, the counts (which must be
identical in every run), the ratio of the medians, single-process / Ray (target >= 0.75x on this 2-core
machine: the overhead bound), each round's ratio, and the peak RSS of each Ray worker process, sampled
with psutil while the runs go and as the workers' own ``ru_maxrss`` (target < 1 GB). Data: the
customers shape of ``bench_ingest.py`` (its generator, ~143 bytes a row).

    .venv/bin/python benchmarks/bench_ray.py --rows 5000000            # the issue's scale (714 MB CSV)
    .venv/bin/python benchmarks/bench_ray.py --rows 20000000 --only ray --rounds 1  # 20M rows (~2.9 GB)
    .venv/bin/python benchmarks/bench_ray.py --rows 5000000 --ids twice  # every piece read again
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_ingest import CHILD_PRELUDE, CONTRACT, WORK, child, environment, generate  # noqa: E402
from harness import report, versions  # noqa: E402

RUN = (
    CHILD_PRELUDE
    + """
from dativo_ingest.ingest import load_job, run_job
import dativo_ingest.contracts, dativo_ingest.finops, dativo_ingest.lineage, pyiceberg.catalog.sql, duckdb
job = load_job(sys.argv[1])
connected = time.perf_counter()
if job.engine.type == "ray":  # connect (and warm the workers) before the clock, as a long-running
    from dativo_ingest.ingest.engines.distributed import connect  # driver would be connected
    connect(job.engine)
connect_seconds = time.perf_counter() - connected
start = begin()
result = run_job(job)
end, cpu = time.perf_counter(), _cpu()
done(start, end, rows_read=result.rows_read, rows_written=result.rows_written,
     rows_quarantined=result.rows_quarantined, rule_failures=result.rule_failures, status=result.status,
     engine=result.engine, cpu_seconds=cpu - _CPU0, connect_seconds=connect_seconds)
"""
)


def _ids_twice(csv_path: Path) -> Path:
    """The benchmark's CSV with row ``i``'s id set to that of row ``i mod rows/2``: every id twice, the
    repeat in the second half of the file (half of the rows then fail ``unique``)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    out = csv_path.with_name(csv_path.stem + "_ids_twice.csv")
    if out.exists():
        return out
    with csv_path.open("rb") as lines:
        names = next(lines).decode().strip().replace('"', "").split(",")
        rows = sum(1 for _ in lines)
    as_read = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True)
    reader = pacsv.open_csv(csv_path, convert_options=as_read)
    writer = None
    seen = 0
    for batch in reader:
        index = pa.array((seen + np.arange(batch.num_rows)) % (rows // 2))
        ids = pc.binary_join_element_wise("cus_", pc.utf8_lpad(index.cast(pa.string()), 14, "0"), "")
        batch = batch.set_column(batch.schema.get_field_index("id"), "id", ids)
        if writer is None:
            options = pacsv.WriteOptions(quoting_style="needed")
            writer = pacsv.CSVWriter(out, batch.schema, write_options=options)
        writer.write_batch(batch)
        seen += batch.num_rows
    if writer is not None:
        writer.close()
    return out


def _job(folder: Path, name: str, csv_path: Path, engine: str) -> Path:
    ws = folder / f"ray_ws_{name}"
    shutil.rmtree(ws, ignore_errors=True)
    os.environ["DATIVO_HOME"] = str(ws)  # the child's workspace (set just before it runs)
    (ws / "jobs").mkdir(parents=True)
    (ws / "contract.yaml").write_text(CONTRACT)
    path = ws / "jobs" / "bench.yaml"
    path.write_text(
        f"tenant_id: bench\nname: {name}\nasset: ../contract.yaml\n"
        f"source: {{type: csv, path: '{csv_path}'}}\ntarget: {{namespace: bronze}}\n"
        f"finops: {{cost_center: bench}}\nengine: {engine}\n"
    )
    return path


class _Cluster:
    """A one-node Ray cluster of ``cpus`` CPUs started with ``ray start --head --block``."""

    def __init__(self, cpus: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
        ray = Path(sys.executable).parent / "ray"
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [
                str(ray),
                "start",
                "--head",
                "--port",
                str(self.port),
                "--num-cpus",
                str(cpus),
                "--block",
                "--include-dashboard",
                "false",
                "--disable-usage-stats",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        probe_code = "import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR'); print('up')"
        while (
            "up"
            not in subprocess.run(
                [sys.executable, "-c", probe_code, f"127.0.0.1:{self.port}"],
                env=self.env,
                capture_output=True,
                text=True,
            ).stdout
        ):
            time.sleep(0.5)
        self.start_seconds = time.perf_counter() - started

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


class _WorkerRss:
    """Samples the RSS of every Ray worker process (``ray::`` in its title) while the run goes."""

    def __init__(self) -> None:
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for proc in psutil.process_iter(["pid", "cmdline"]):
                try:
                    if (proc.info["cmdline"] or [""])[0].startswith("ray::"):
                        rss = proc.memory_info().rss / 2**20
                        self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0.0), rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            time.sleep(0.2)

    def stop(self) -> dict[int, float]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--only", choices=["ray"], default=None, help="skip the single-process run")
    parser.add_argument("--split-mb", type=float, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="single-process and Ray runs, alternated")
    parser.add_argument(
        "--ids",
        choices=["bench", "twice"],
        default="bench",
        help="twice: every id appears twice, half the file apart (the Ray engine's worst case: every "
        "piece is read again)",
    )
    args = parser.parse_args()
    folder = WORK / "ingest"
    folder.mkdir(parents=True, exist_ok=True)
    environment()
    report("ray environment", versions("ray", "psutil"))
    csv_path, _ = generate(args.rows, folder)
    if args.ids == "twice":
        csv_path = _ids_twice(csv_path)
    cluster = _Cluster(args.workers)
    singles: list[dict] = []
    rays: list[dict] = []
    peaks: dict[int, float] = {}
    try:
        engine = f"{{type: ray, address: '127.0.0.1:{cluster.port}', split_mb: {args.split_mb}}}"
        os.environ.update({"RAY_AUTH_MODE": "disabled"})
        for _ in range(args.rounds):  # alternated, so the neighbours' load falls on both alike
            if args.only is None:
                singles.append(child(RUN, str(_job(folder, "single", csv_path, "{type: local}"))))
            job = _job(folder, "ray", csv_path, engine)
            sampler = _WorkerRss()
            rays.append(child(RUN, str(job)))
            for pid, peak in sampler.stop().items():
                peaks[pid] = max(peaks.get(pid, 0.0), peak)
    finally:
        cluster.stop()
    on_ray = sorted(rays, key=lambda r: r["seconds"])[len(rays) // 2]  # the median run
    rows = args.rows
    figures = {
        "rows": rows,
        "csv_mb": round(csv_path.stat().st_size / 1e6),
        "rounds": args.rounds,
        "cluster_start_seconds": round(cluster.start_seconds, 1),
        "ray_connect_and_warm_seconds (before the clock)": [round(r["connect_seconds"], 2) for r in rays],
        "ray_seconds": [round(r["seconds"], 2) for r in rays],
        "ray_seconds_median": round(on_ray["seconds"], 2),
        "ray_rows_per_s (median)": round(rows / on_ray["seconds"]),
        "ray_driver_peak_rss_mb": max(round(r["peak_rss_mb"]) for r in rays),
        "ray_driver_cpu_seconds": [round(r["cpu_seconds"], 2) for r in rays],
        "ray_engine (median run)": on_ray["engine"],
        "ray_worker_peak_rss_mb_sampled": sorted(round(v) for v in peaks.values()),
        "load_average_at_start (single / ray)": [
            f"{s['load']:.2f} / {r['load']:.2f}" if s else f"- / {r['load']:.2f}"
            for s, r in zip(singles or [None] * len(rays), rays, strict=True)
        ],
    }
    ratio = None
    if singles:
        counted = ("rows_read", "rows_written", "rows_quarantined", "rule_failures")
        same = all(run[k] == rays[0][k] for run in singles + rays for k in counted)
        single = sorted(singles, key=lambda r: r["seconds"])[len(singles) // 2]
        figures.update(
            single_seconds=[round(r["seconds"], 2) for r in singles],
            single_seconds_median=round(single["seconds"], 2),
            single_rows_per_s_median=round(rows / single["seconds"]),
            single_peak_rss_mb=max(round(r["peak_rss_mb"]) for r in singles),
            single_cpu_seconds=[round(r["cpu_seconds"], 2) for r in singles],
            ratio_per_round=[
                round(a["seconds"] / b["seconds"], 2) for a, b in zip(singles, rays, strict=True)
            ],
            identical_counts=same,
            counts={k: rays[0][k] for k in ("rows_read", "rows_written", "rows_quarantined")},
        )
        ratio = single["seconds"] / on_ray["seconds"]  # of the medians
    worst = max([*peaks.values(), *(r["engine"]["worker_peak_rss_mb"] for r in rays)])
    figures["worker_peak_rss_under_1gb"] = worst < 1024
    report(
        f"Ray engine, {args.workers} local workers, {rows:,} rows CSV -> validated Iceberg",
        figures,
        ratio=ratio,
        target=">= 0.75x the single-process engine's throughput (medians of the rounds), each worker's "
        "peak RSS < 1024 MB",
    )


if __name__ == "__main__":
    main()
