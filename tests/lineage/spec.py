"""An independent OpenLineage spec check for tests, reading the shared reference copy of the spec.

Facets are matched to their schema by key *and* by the container they sit in (run, job, dataset,
input or output facet), not by their ``_schemaURL``, so a facet in the wrong place also fails.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
BASES = {
    "run": "RunFacet",
    "job": "JobFacet",
    "facets": "DatasetFacet",
    "inputFacets": "InputDatasetFacet",
    "outputFacets": "OutputDatasetFacet",
}


@cache
def _load(root: str) -> tuple[Registry, dict[tuple[str, str], str]]:
    docs = [json.loads(p.read_text()) for p in sorted(Path(root).rglob("*.json"))]
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs)
    by_key: dict[tuple[str, str], str] = {}
    for doc in docs:
        for key, prop in doc.get("properties", {}).items():
            if "$ref" not in prop or doc["$id"] == CORE:
                continue
            name = prop["$ref"].rsplit("/", 1)[-1]
            refs = json.dumps(doc["$defs"][name])
            for container, base in BASES.items():
                if f"{CORE}#/$defs/{base}" in refs:
                    by_key[(container, key)] = f"{doc['$id']}#/$defs/{name}"
    return registry, by_key


def spec_errors(event: dict[str, Any], root: Path) -> list[str]:
    registry, by_key = _load(str(root))

    def check(ref: str, instance: Any, where: str) -> list[str]:
        validator = Draft202012Validator({"$ref": ref}, registry=registry)
        return [f"{where}: {e.message}" for e in validator.iter_errors(instance)]

    errors = check(f"{CORE}#/$defs/RunEvent", event, "event")
    places = [("run", event.get("run", {}).get("facets", {}), "run")]
    places.append(("job", event.get("job", {}).get("facets", {}), "job"))
    for part in ("inputs", "outputs"):
        for i, ds in enumerate(event.get(part, [])):
            places.append(("facets", ds.get("facets", {}), f"{part}[{i}]"))
            extra = "inputFacets" if part == "inputs" else "outputFacets"
            places.append((extra, ds.get(extra, {}), f"{part}[{i}]"))
    for container, facets, where in places:
        for key, facet in (facets or {}).items():
            ref = by_key.get((container, key))
            if ref is None:
                errors.append(f"{where}.{container}.{key}: no spec facet of that name for this place")
            else:
                errors.extend(check(ref, facet, f"{where}.{container}.{key}"))
    return errors
