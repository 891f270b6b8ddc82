"""Anomaly detection quality on a synthetic labelled run history.

Each synthetic job runs daily; its CPU time, data volume, API calls and peak memory follow a trend,
a weekly season (quiet weekends, busy Mondays) and multiplicative noise. About 4 % of runs get one
injected anomaly: a spike (x1.4-3) or a drop (x0.1-0.65) of one metric. Costs come from the real
cost maths. Every run after a three-week warm-up is judged against the runs before it (history
keeps earlier anomalies, as in production). Reported: precision, recall and F1 at run level for
dativo's detector and, in the same run, two naive baselines: mean +/- 3 sd over the same window and
the spec reference's "more than 2x the average" rule.

    .venv/bin/python benchmarks/bench_anomalies.py [--jobs 8] [--days 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import report

from dativo_ingest.finops.anomalies import METRICS, WINDOW_DAYS, _value, detect
from dativo_ingest.finops.calculator import breakdown, price_usage
from dativo_ingest.finops.pricing import PricingCatalog
from dativo_ingest.finops.records import build_summary
from dativo_ingest.finops.usage import Usage

WARMUP_DAYS = 21
RATE = 0.04
BASE_METRICS = ("cpu", "memory", "data", "api")


def synthetic_job(rng: random.Random, job: int, days: int) -> tuple[list[dict], list[bool]]:
    """Run summaries of one job and whether each run carries an injected anomaly."""
    rates = PricingCatalog.default().rates_for("bench")
    cpu0 = rng.uniform(60, 600)
    gib_per_cpu_sec = rng.uniform(0.002, 0.02)
    calls_per_gib = rng.uniform(200, 2000)
    mem0 = rng.uniform(300, 3000)
    growth = rng.uniform(-0.001, 0.006)  # relative change per day
    amplitude = rng.uniform(0.15, 0.5)
    weekly = [1 + amplitude * f for f in (0.5, 0.1, 0.0, 0.05, 0.2, -0.8, -0.9)]  # Mon..Sun
    noise = rng.uniform(0.03, 0.08)
    start = datetime(2025, 1, 6, 2, 0, tzinfo=UTC) + timedelta(hours=job)
    runs, labels = [], []
    for day in range(days):
        when = start + timedelta(days=day)
        level = (1 + growth * day) * weekly[when.weekday()]
        cpu = cpu0 * level * rng.gauss(1, noise)
        data_gib = cpu0 * gib_per_cpu_sec * level * rng.gauss(1, noise)
        calls = data_gib * calls_per_gib * rng.gauss(1, noise)
        memory = mem0 * (1 + 0.3 * (level - 1)) * rng.gauss(1, noise / 2)
        values = {"cpu": cpu, "data": data_gib, "api": calls, "memory": memory}
        injected = day >= 3 and rng.random() < RATE
        if injected:
            metric = rng.choice(BASE_METRICS)
            spike = metric == "memory" or rng.random() < 0.6
            values[metric] *= rng.uniform(1.4, 3.0) if spike else rng.uniform(0.1, 0.65)
        usage = Usage(
            cpu_time_sec=max(values["cpu"], 0.0),
            memory_peak_mb=max(values["memory"], 1.0),
            wall_time_sec=max(values["cpu"], 0.0) * 1.3,
            data_bytes_ingested=max(int(values["data"] * 1024**3), 0),
            data_bytes_written=max(int(values["data"] * 0.4 * 1024**3), 0),
            api_calls={"source": max(int(values["api"]), 0)},
        )
        costs = breakdown(price_usage(usage, rates))
        runs.append(
            build_summary(
                run_id=f"job{job}-{day}",
                tenant_id="bench",
                job_name=f"job{job}",
                cost_center=None,
                started_at=when,
                finished_at=when + timedelta(seconds=usage.wall_time_sec),
                usage=usage,
                measured=False,
                breakdown=costs,
                rates=rates,
                storage_days=30,
            )
        )
        labels.append(injected)
    return runs, labels


def _window(history: list[dict], current: dict) -> list[dict]:
    now = datetime.fromisoformat(current["start_time"].replace("Z", "+00:00"))
    return [
        h
        for h in history
        if (now - datetime.fromisoformat(h["start_time"].replace("Z", "+00:00"))).days < WINDOW_DAYS
    ]


def mean_3sd(current: dict, history: list[dict]) -> bool:
    """Naive baseline: any metric outside mean +/- 3 standard deviations of the same window."""
    window = _window(history, current)
    for spec in METRICS:
        value = _value(current, spec)
        past = [v for h in window if (v := _value(h, spec)) is not None]
        if value is None or len(past) < 3:
            continue
        mean, sd = statistics.fmean(past), statistics.stdev(past)
        if abs(value - mean) > 3 * sd:
            return True
    return False


def twice_average(current: dict, history: list[dict]) -> bool:
    """The spec reference's rule: cost or CPU above 2x the historical average."""
    window = _window(history, current)
    for path in (("cost_breakdown_usd", "total"), ("resource_usage", "cpu_time_sec")):
        past = [h[path[0]][path[1]] for h in window]
        if past and current[path[0]][path[1]] > 2 * statistics.fmean(past):
            return True
    return False


def scores(predicted: list[bool], actual: list[bool]) -> dict[str, float]:
    tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
    fp = sum(p and not a for p, a in zip(predicted, actual, strict=True))
    fn = sum(a and not p for p, a in zip(predicted, actual, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--threshold", type=float, default=4.0, help="robust z threshold of dativo's detector"
    )
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    detectors = {
        "dativo": lambda c, h: bool(detect(c, h, threshold=args.threshold)),
        "mean_3sd": mean_3sd,
        "twice_avg": twice_average,
    }
    predicted: dict[str, list[bool]] = {name: [] for name in detectors}
    elapsed = dict.fromkeys(detectors, 0.0)
    actual: list[bool] = []
    for job in range(args.jobs):
        runs, labels = synthetic_job(rng, job, args.days)
        for day in range(WARMUP_DAYS, args.days):
            actual.append(labels[day])
            for name, judge in detectors.items():
                began = time.perf_counter()
                predicted[name].append(judge(runs[day], runs[:day]))
                elapsed[name] += time.perf_counter() - began
    results = {name: scores(p, actual) for name, p in predicted.items()}
    figures: dict = {"runs judged": len(actual), "injected anomalies": sum(actual)}
    for name, result in results.items():
        for key in ("precision", "recall", "f1"):
            figures[f"{name} {key}"] = round(result[key], 4)
        figures[f"{name} tp/fp/fn"] = f"{result['tp']}/{result['fp']}/{result['fn']}"
        figures[f"{name} ms per run"] = round(1000 * elapsed[name] / len(actual), 3)
    baseline = results["mean_3sd"]["f1"]
    ratio = results["dativo"]["f1"] / baseline if baseline else float("inf")
    return report(
        "FinOps anomaly detection (F1, dativo vs mean+3sd)", figures, ratio=ratio, target="dativo F1 >= 0.9"
    )


if __name__ == "__main__":
    main()
