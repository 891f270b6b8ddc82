"""What every importer shares: the request, the imported contract, table selection and naming.

An importer reads one kind of source and returns :class:`ImportedContract` values (the canonical
:class:`~dativo_ingest.odcs.model.AssetDefinition` plus the profile's proposals); it writes nothing.
Every failure the user can cause is a :class:`~dativo_ingest.errors.ContractImportError` (exit 2).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dativo_ingest.errors import ContractImportError
from dativo_ingest.odcs.model import AssetDefinition, SchemaField, SchemaObject

DEFAULT_SAMPLE_ROWS = 100_000
#: The custom property that carries profile proposals (never facts).
PROPOSED = "dativo.proposed"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ImportRequest:
    """What to import: the source, which tables, and how."""

    kind: str
    source: str
    tables: tuple[str, ...] = ()
    schema: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    dialect: str | None = None
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    profile: bool = False
    owner: str | None = None
    #: dbt only: ``catalog.json`` beside the manifest (column types).
    catalog: str | None = None


@dataclass
class ImportedContract:
    """One table's contract, the file stem it is written under, and what profiling proposed."""

    asset: AssetDefinition
    stem: str
    proposals: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_patterns(request: ImportRequest) -> None:
    """Refuse an empty pattern or one with an unclosed ``[`` (fnmatch would read it literally)."""
    for option, patterns in (("--include", request.include), ("--exclude", request.exclude)):
        for pattern in patterns:
            if not pattern.strip():
                raise ContractImportError(f"{option} pattern is empty")
            if pattern.count("[") != pattern.count("]"):
                raise ContractImportError(f"{option} pattern '{pattern}' has an unclosed '['")


def select(request: ImportRequest, names: Iterable[str], where: str) -> list[str]:
    """The names the request asks for, sorted: ``--table`` names must exist; ``--include``/``--exclude``
    glob patterns match the name or its last dotted part; selecting nothing is an error."""
    check_patterns(request)
    available = sorted(set(names))
    short = {name: name.rsplit(".", 1)[-1] for name in available}
    chosen: list[str] = []
    for wanted in request.tables:
        found = [n for n in available if wanted in (n, short[n])]
        if not found:
            raise ContractImportError(f"table '{wanted}' not found in {where}")
        chosen.extend(found)
    if not request.tables:
        chosen = list(available)
    if request.include:
        chosen = [n for n in chosen if _matches(n, short[n], request.include)]
    chosen = [n for n in chosen if not _matches(n, short[n], request.exclude)]
    if not chosen:
        patterns = ", ".join(request.include) or "*"
        raise ContractImportError(f"no table in {where} matches {patterns}" + _excluding(request))
    return sorted(dict.fromkeys(chosen))


def _excluding(request: ImportRequest) -> str:
    return f" (excluding {', '.join(request.exclude)})" if request.exclude else ""


def _matches(name: str, short: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(short, p) for p in patterns)


def safe_stem(*parts: str | None) -> str:
    """A file stem from name parts (``public.orders``): dotted, only safe characters."""
    return ".".join(_UNSAFE.sub("_", p).strip("_") or "_" for p in parts if p)


def contract(
    request: ImportRequest,
    *,
    source_type: str,
    obj: SchemaObject,
    servers: list[dict[str, Any]] | None = None,
    expectations: list[dict[str, Any]] | None = None,
    tags: Sequence[str] = (),
    custom: list[dict[str, Any]] | None = None,
    contract_id: str | None = None,
) -> AssetDefinition:
    """A draft contract for one imported object (id ``<source_type>-<object>`` unless given, version
    1.0.0)."""
    data: dict[str, Any] = {
        "id": contract_id or f"{source_type}-{obj.name}",
        "name": obj.name,
        "version": "1.0.0",
        "status": "draft",
        "source_type": source_type,
        "object": obj.name,
        "objects": [obj],
        "servers": [s for s in servers or [] if s],
        "tags": sorted(set(tags)),
        "customProperties": custom or [],
    }
    if expectations:
        data["data_quality"] = {"expectations": expectations}
    if request.owner:
        data["team"] = {"owner": request.owner}
    return AssetDefinition(**data)


def relationship(column: str, to: str, to_field: str) -> dict[str, Any]:
    """A relationships expectation (a foreign key): every ``column`` value exists in ``to.to_field``."""
    return {"type": "relationships", "column": column, "to": to, "field": to_field}


def find_field(fields: list[SchemaField], name: str) -> SchemaField | None:
    return next((f for f in fields if f.name == name), None)
