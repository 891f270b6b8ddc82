"""Benchmark: classify the changes between two 10,000-property ODCS contracts.

v2 is v1 with 2% of its properties touched: 0.5% removed, 0.5% added, 0.5% retyped and 0.5% made
required. Figures:

* in process: :func:`dativo_ingest.changes.classify` on the two loaded models (target < 100 ms), and the
  load of one contract file (YAML + model) for scale;
* whole process: ``dativo contract diff v1 v2`` against ``datacontract breaking v1 v2``
  (datacontract-cli 1.2.8, installed into ``benchmarks/.work/datacontract-venv``) on the same pair in
  the same run (target: >= 10x faster). If the install fails (offline), that is reported and the ratio
  is taken against the issue's figure of 22.5 s for this pair.

Run: ``.venv/bin/python benchmarks/bench_contract_diff.py [--properties N] [--rounds N] [--skip-baseline]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import report, time_it

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
BASELINE_VENV = WORK / "datacontract-venv"
BASELINE_PACKAGE = "datacontract-cli==1.2.8"
ISSUE_BASELINE_SECONDS = 22.5
TYPES = ["string", "integer", "number", "boolean", "date"]
RETYPE = {"string": "integer", "integer": "string", "number": "string", "boolean": "string", "date": "string"}


def make_pair(properties: int, seed: int = 7) -> tuple[dict, dict, dict[str, int]]:
    """Two ODCS v3.0.2 documents: v1 with ``properties`` properties and v2 = v1 with 2% touched."""
    rng = random.Random(seed)
    props = []
    for i in range(properties):
        logical = TYPES[i % len(TYPES)]
        prop = {"name": f"col_{i:05d}", "logicalType": logical, "physicalType": logical,
                "description": f"column {i}", "required": i % 3 == 0}  # fmt: skip
        if logical == "string" and i % 10 == 0:
            prop["logicalTypeOptions"] = {"maxLength": 64}
        props.append(prop)
    share = max(1, properties // 200)  # 0.5% of the properties per kind of change
    plain = [i for i in range(properties) if "logicalTypeOptions" not in props[i]]
    chosen = rng.sample(plain, 3 * share)  # retyped columns carry no options, so each edit is one change
    removed, retyped = set(chosen[:share]), set(chosen[share : 2 * share])
    optional = [i for i in range(properties) if not props[i]["required"] and i not in removed | retyped]
    made_required = set(rng.sample(optional, share))
    v2_props = []
    for i, prop in enumerate(props):
        if i in removed:
            continue
        prop = dict(prop)
        if i in retyped:
            prop["logicalType"] = prop["physicalType"] = RETYPE[prop["logicalType"]]
            prop.pop("logicalTypeOptions", None)
        if i in made_required:
            prop["required"] = True
        v2_props.append(prop)
    v2_props.extend({"name": f"new_{j:05d}", "logicalType": "string", "physicalType": "string",
                     "description": f"added column {j}"} for j in range(share))  # fmt: skip

    def doc(version: str, fields: list[dict]) -> dict:
        return {
            "apiVersion": "v3.0.2", "kind": "DataContract", "id": "bench-wide-table", "name": "wide_table",
            "version": version, "status": "active",
            "team": [{"username": "owner@example.com", "role": "owner"}],
            "schema": [{"name": "wide_table", "physicalName": "wide_table", "physicalType": "table",
                        "properties": fields}],
        }  # fmt: skip

    counts = {"removed": share, "added": share, "retyped": share, "made_required": share}
    return doc("1.0.0", props), doc("2.0.0", v2_props), counts


def write_pair(properties: int) -> tuple[Path, Path, dict[str, int]]:
    from dativo_ingest.yamlio import dumps

    v1, v2, counts = make_pair(properties)
    folder = WORK / f"contracts-{properties}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "v1.yaml", folder / "v2.yaml"
    for path, doc in zip(paths, (v1, v2), strict=True):
        path.write_text(dumps(doc), encoding="utf-8")
    return paths[0], paths[1], counts


def install_baseline() -> Path | None:
    """``datacontract`` from its own venv, installing it when absent; None when that fails."""
    exe = BASELINE_VENV / "bin" / "datacontract"
    if exe.exists():
        return exe
    try:
        subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True, capture_output=True)
        subprocess.run([str(BASELINE_VENV / "bin" / "pip"), "install", "-q", BASELINE_PACKAGE], check=True,
                       capture_output=True, timeout=1200)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"  could not install {BASELINE_PACKAGE}: {exc}", file=sys.stderr)
        return None
    return exe if exe.exists() else None


def run_once(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--properties", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="repeats of the in-process timing")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of 2 dativo runs + 1 datacontract run")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run datacontract-cli")
    args = parser.parse_args()

    from dativo_ingest.changes import classify
    from dativo_ingest.config import AssetDefinition
    from dativo_ingest.yamlio import load_mapping

    v1_path, v2_path, counts = write_pair(args.properties)
    old, new = AssetDefinition.from_yaml(v1_path), AssetDefinition.from_yaml(v2_path)
    diff = classify(old, new)
    kinds = Counter(c.kind for c in diff.changes)
    found = {"removed": kinds["field_removed"], "added": kinds["field_added"],
             "retyped": kinds["type_changed"] + kinds["type_narrowed"] + kinds["type_widened"],
             "made_required": kinds["made_required"]}  # fmt: skip
    assert found == counts and len(diff.changes) == sum(counts.values()), (found, counts, kinds)
    classify_t = time_it("classify", lambda: classify(old, new), repeat=args.repeat, warmup=1)
    data = load_mapping(v2_path)
    yaml_t = time_it("parse YAML (yamlio)", lambda: load_mapping(v2_path), repeat=3, warmup=0)
    model_t = time_it("build model", lambda: AssetDefinition.from_dict(data), repeat=3, warmup=0)

    dativo = [
        str(ROOT / ".venv" / "bin" / "dativo"),
        "contract",
        "diff",
        str(v1_path),
        str(v2_path),
        "--json",
    ]
    exe = None if args.skip_baseline else install_baseline()
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(args.rounds):  # interleaved, so both sides see the same machine load
        ours.extend(run_once(dativo) for _ in range(2))
        if exe is not None:
            theirs.append(run_once([str(exe), "breaking", str(v1_path), str(v2_path)]))
    figures: dict = {
        "properties": args.properties,
        "changes": len(diff.changes),
        "classify_median_ms": classify_t.median * 1000,
        "classify_best_ms": classify_t.best * 1000,
        "classify_target_ms": 100.0,
        "parse_yaml_one_file_median_s": yaml_t.median,
        "build_model_one_file_median_s": model_t.median,
        "dativo_diff_process_median_s": statistics.median(ours),
        "dativo_diff_process_best_s": min(ours),
    }
    if exe is not None:
        baseline, best, source = (
            statistics.median(theirs),
            min(theirs),
            f"measured ({BASELINE_PACKAGE}, same run)",
        )
    elif args.skip_baseline:
        baseline, best, source = None, None, "not run"
    else:
        baseline, best, source = (
            ISSUE_BASELINE_SECONDS,
            ISSUE_BASELINE_SECONDS,
            "issue figure (install failed)",
        )
    figures["datacontract_breaking_median_s"] = baseline
    figures["datacontract_breaking_best_s"] = best
    figures["baseline_source"] = source
    if best:
        figures["ratio_best_vs_best"] = best / min(ours)
    ratio = baseline / figures["dativo_diff_process_median_s"] if baseline else None
    report(
        f"contract diff, {args.properties}-property ODCS pair",
        figures,
        ratio=ratio,
        target=">= 10x; classify < 100 ms",
    )


if __name__ == "__main__":
    main()
