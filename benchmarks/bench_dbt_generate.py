"""Benchmark: generate a whole dbt project for 1,000 contracts (target < 2 s on the reference machine).

Candidate: ``DBTGenerator.generate_project`` into a fresh folder (documents, staging SQL, singular tests,
files written). Baseline, same run: ``yaml.safe_dump`` (libyaml C dumper when available) of the same
source and model dicts, no SQL, no files. Also timed: a re-run over the unchanged project (no rewrites).

    .venv/bin/python benchmarks/bench_dbt_generate.py [--contracts 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import report, time_it

from dativo_ingest.config import AssetDefinition
from dativo_ingest.dbt.documents import model_document, source_document
from dativo_ingest.dbt.options import GenerationOptions
from dativo_ingest.dbt_integration import DBTGenerator, ProjectConfig

SPECS = Path(__file__).resolve().parents[1] / "tests" / "dbt" / "fixtures" / "specs" / "shop"


def contracts(count: int) -> list[AssetDefinition]:
    """``count`` contracts over 20 sources, alternating the two shop fixtures' shapes."""
    templates = [
        AssetDefinition.from_yaml(SPECS / "v1.2" / "customers.yaml"),
        AssetDefinition.from_yaml(SPECS / "v1.0" / "orders.yaml"),
    ]
    out = []
    for i in range(count):
        asset = templates[i % 2].model_copy(deep=True)
        asset.source_type, asset.object, asset.id = f"src{i % 20}", f"object_{i}", f"contract-{i}"
        for expectation in asset.expectations:
            if expectation.type == "relationships":
                expectation.__pydantic_extra__["to"] = f"src{i % 20}.object_{i - 1}"
        out.append(asset)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    assets = contracts(args.contracts)
    options = GenerationOptions()
    docs = [(source_document(a, options), model_document(a, options)) for a in assets]
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    work = Path(tempfile.mkdtemp(prefix="bench_dbt_"))
    config = ProjectConfig(project_name="bench", input="parquet", warehouse=work / "wh")
    runs = iter(range(10**6))

    def generate() -> None:
        DBTGenerator(work / f"run{next(runs)}").generate_project(assets, config)

    def baseline() -> None:
        for source, model in docs:
            yaml.dump(source, Dumper=dumper, sort_keys=False)
            yaml.dump(model, Dumper=dumper, sort_keys=False)

    try:
        base = time_it("safe_dump", baseline, repeat=args.repeat)
        cand = time_it("generate_project", generate, repeat=args.repeat)
        stable = work / "stable"
        DBTGenerator(stable).generate_project(assets, config)
        rerun = time_it(
            "rerun_unchanged",
            lambda: DBTGenerator(stable).generate_project(assets, config),
            repeat=args.repeat,
        )
        files = sum(1 for _ in stable.rglob("*.*"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(
        f"dbt generate ({args.contracts} contracts)",
        {
            "contracts": args.contracts,
            "files": files,
            "generate_s": cand.median,
            "rerun_unchanged_s": rerun.median,
            "baseline_safe_dump_s": base.median,
            "yaml_dumper": dumper.__name__,
        },
        ratio=cand.median / base.median,
        target="generate < 2 s",
    )


if __name__ == "__main__":
    main()
