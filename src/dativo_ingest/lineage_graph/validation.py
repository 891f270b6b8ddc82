"""Offline validation of OpenLineage events against the vendored spec (core 2-0-2 and facet schemas).

Every schema file is loaded into a ``referencing.Registry`` keyed by its ``$id`` (facets ``$ref`` the
core by absolute URL). The event is checked against the core ``RunEvent`` definition, then every facet
against the definition its ``_schemaURL`` names, under a key that file declares.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from dativo_ingest.errors import ContractValidationError

CORE_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
FACET_CONTAINERS = (("run", "facets", "RunFacet"), ("job", "facets", "JobFacet"))
DATASET_CONTAINERS = (
    ("inputs", (("facets", "DatasetFacet"), ("inputFacets", "InputDatasetFacet"))),
    ("outputs", (("facets", "DatasetFacet"), ("outputFacets", "OutputDatasetFacet"))),
)


def schema_dir() -> Path:
    """Folder of the vendored OpenLineage spec files."""
    return Path(str(resources.files("dativo_ingest") / "schemas" / "openlineage"))


@cache
def _documents(root: str) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(root).rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        docs[doc["$id"]] = doc
    return docs


def _checker() -> FormatChecker:
    checker = FormatChecker(["uuid"])

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return "T" in value.upper() and datetime.fromisoformat(value.replace("z", "Z")) is not None

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        return not isinstance(value, str) or bool(urlparse(value).scheme)

    return checker


class SpecValidator:
    """Validates OpenLineage event dicts against the spec files in ``root`` (default: vendored copy)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.documents = _documents(str(Path(root or schema_dir()).resolve()))
        if CORE_ID not in self.documents:
            raise ContractValidationError(f"OpenLineage core schema {CORE_ID} not found", path=str(root))
        self.registry: Registry = Registry().with_resources(
            (doc_id, Resource.from_contents(doc)) for doc_id, doc in self.documents.items()
        )
        self.format_checker = _checker()

    def _validator(self, ref: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": ref}, registry=self.registry, format_checker=self.format_checker)

    def errors(self, event: dict[str, Any]) -> list[str]:
        """Every spec violation of a RunEvent, as ``location: message`` lines (empty when valid)."""
        problems = [
            f"{_where(e.absolute_path)}: {e.message}"
            for e in self._validator(f"{CORE_ID}#/$defs/RunEvent").iter_errors(event)
        ]
        for where, key, facet, base in _facets(event):
            problems.extend(self._facet_errors(f"{where}.{key}", key, facet, base))
        return problems

    def _facet_errors(self, where: str, key: str, facet: Any, base: str) -> list[str]:
        if not isinstance(facet, dict) or not isinstance(facet.get("_schemaURL"), str):
            return [f"{where}: facet has no _schemaURL"]
        url = facet["_schemaURL"]
        doc_id, _, fragment = url.partition("#")
        doc = self.documents.get(doc_id)
        if doc is None:
            return [f"{where}: no vendored schema for {url}"]
        declared = doc.get("properties", {})
        if key not in declared or declared[key].get("$ref") != f"#{fragment}":
            return [f"{where}: facet key {key!r} is not the key {doc_id} declares for #{fragment}"]
        definition = json.dumps(doc.get("$defs", {}).get(fragment.rsplit("/", 1)[-1], {}))
        if f"{CORE_ID}#/$defs/{base}" not in definition:
            return [f"{where}: {fragment.rsplit('/', 1)[-1]} is not a {base} and cannot sit here"]
        return [
            f"{where}{_where(e.absolute_path, '.')}: {e.message}"
            for e in self._validator(url).iter_errors(facet)
        ]

    def validate(self, event: dict[str, Any]) -> None:
        """Raise :class:`ContractValidationError` listing every violation."""
        problems = self.errors(event)
        if problems:
            raise ContractValidationError(
                f"OpenLineage event does not match the spec: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                errors=problems,
                field="openlineage",
            )


def _facets(event: dict[str, Any]) -> list[tuple[str, str, Any, str]]:
    """Every facet as ``(location, key, facet, base facet type expected there)``."""
    found: list[tuple[str, str, Any, str]] = []
    for part, container, base in FACET_CONTAINERS:
        for key, facet in sorted(((event.get(part) or {}).get(container) or {}).items()):
            found.append((f"{part}.{container}", key, facet, base))
    for part, containers in DATASET_CONTAINERS:
        for index, dataset in enumerate(event.get(part) or []):
            for container, base in containers:
                for key, facet in sorted(((dataset or {}).get(container) or {}).items()):
                    found.append((f"{part}[{index}].{container}", key, facet, base))
    return found


def _where(path: Any, prefix: str = "") -> str:
    parts = [str(p) for p in path]
    return (prefix + ".".join(parts)) if parts else ("" if prefix else "event")


@cache
def default_validator() -> SpecValidator:
    return SpecValidator()


def validate_event(event: dict[str, Any]) -> None:
    """Validate one event dict against the vendored OpenLineage spec; raises on any violation."""
    default_validator().validate(event)
