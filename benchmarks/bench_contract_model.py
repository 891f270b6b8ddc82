"""Loading, validating and converting a large contract, against a plain PyYAML + jsonschema baseline.

The contract has ``--properties`` properties (default 10,000). Candidate: ``AssetDefinition.from_yaml`` +
``validate_asset`` (official schema + semantic rules) + ``to_odcs``. Baseline, same run: what a
straightforward tool does — ``yaml.safe_load`` and ``jsonschema`` validation of the raw document.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import jsonschema
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import report, time_it

from dativo_ingest.config import AssetDefinition
from dativo_ingest.odcs.validation import validate_asset

SCHEMA = Path(__file__).resolve().parents[1] / "src/dativo_ingest/odcs/schemas/odcs-json-schema-v3.0.2.json"
TYPES = [("string", "varchar(64)"), ("integer", "int"), ("number", "double"), ("date", "timestamp")]


def make_contract(properties: int) -> dict:
    columns = []
    for i in range(properties):
        logical, physical = TYPES[i % len(TYPES)]
        column = {
            "name": f"col_{i}",
            "logicalType": logical,
            "physicalType": physical,
            "required": i % 3 == 0,
            "description": f"Column number {i}",
        }
        if i % 50 == 0:
            column["classification"] = "PII"
        columns.append(column)
    return {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "bench",
        "version": "1.0.0",
        "status": "active",
        "team": [{"username": "owner@example.com", "role": "owner"}],
        "schema": [{"name": "wide_table", "physicalType": "table", "properties": columns}],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--properties", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wide.odcs.yaml"
        path.write_text(yaml.safe_dump(make_contract(args.properties), sort_keys=False))
        schema = json.loads(SCHEMA.read_text())

        def candidate() -> None:
            asset = AssetDefinition.from_yaml(path)
            assert validate_asset(asset).is_valid
            asset.to_odcs()

        def baseline() -> None:
            document = yaml.safe_load(path.read_text())
            jsonschema.Draft201909Validator(schema).validate(document)

        ours = time_it("dativo load+validate+convert", candidate, repeat=args.repeat)
        base = time_it("PyYAML safe_load + jsonschema", baseline, repeat=args.repeat)
    report(
        f"contract model, {args.properties} properties",
        {"dativo_median_s": ours.median, "baseline_median_s": base.median},
        ratio=base.median / ours.median,
        target="faster than the baseline (ratio > 1)",
    )


if __name__ == "__main__":
    main()
