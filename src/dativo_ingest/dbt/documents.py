"""Source, model and exposure YAML documents (plain dicts) for one contract, in current dbt syntax."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dativo_ingest.dbt.columns import Column, plan_columns
from dativo_ingest.dbt.datatests import column_tests, masked_tests, table_tests
from dativo_ingest.dbt.metadata import column_config, contract_meta, contract_tags
from dativo_ingest.dbt.node_names import (
    default_model_name,
    default_source_name,
    object_of,
    slug,
    source_type_of,
)
from dativo_ingest.dbt.options import GenerationOptions
from dativo_ingest.dbt.quoting import jinja_text, needs_quoting
from dativo_ingest.dbt.rules import RuleSet, contract_rules
from dativo_ingest.errors import DbtError
from dativo_ingest.odcs.model import AssetDefinition

EXPOSURE_TYPES = ("dashboard", "notebook", "analysis", "ml", "application")
MATURITIES = ("low", "medium", "high")
_NODE_CALL = re.compile(r"^\s*(ref|source)\s*\(.*\)\s*$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _description(asset: AssetDefinition, fallback: str) -> str:
    purpose = asset.description.purpose if asset.description else None
    return jinja_text(purpose) if purpose else fallback


def _column_entry(
    column: Column, tests: list[Any], *, staged: bool, constraints: list[dict]
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": column.name if staged else column.raw_name}
    if column.field.description:
        entry["description"] = jinja_text(column.field.description)
    entry["data_type"] = column.staged_type if staged else column.contract_type
    if needs_quoting(entry["name"]):
        entry["quote"] = True
    if constraints:
        entry["constraints"] = constraints
    if tests:
        entry["data_tests"] = tests
    config = column_config(column, staged=staged)
    if config:
        entry["config"] = config
    return entry


def resolver(
    asset: AssetDefinition, *, for_model: bool, source_name: str | None = None
) -> Callable[[str], str]:
    """Turn a relationships target (``ref(...)``, ``source.object`` or ``object``) into a dbt node call."""
    own_source = source_type_of(asset)

    def resolve(target: str) -> str:
        if _NODE_CALL.match(target):
            return target.strip()
        source, _, obj = target.rpartition(".")
        source = slug(source) if source else own_source
        if for_model:
            return f"ref('stg_{source}__{slug(obj)}')"
        name = source_name if source == own_source and source_name else f"raw_{source}"
        return f"source('{name}', '{slug(obj)}')"

    return resolve


def source_document(
    asset: AssetDefinition,
    options: GenerationOptions,
    *,
    source_name: str | None = None,
    table_meta: dict[str, Any] | None = None,
    schema: str | None = None,
    rules: RuleSet | None = None,
) -> dict[str, Any]:
    """``version: 2`` + ``sources:`` with the contract's raw table, tests and governance meta."""
    name = source_name or default_source_name(asset)
    rules = rules or contract_rules(asset)
    resolve = resolver(asset, for_model=False, source_name=name)
    columns = [
        _column_entry(
            c,
            column_tests(rules.for_column(c.name), c, resolve=resolve, staged=False, adapter=options.adapter),
            staged=False,
            constraints=[],
        )
        for c in plan_columns(asset, options)
    ]
    table: dict[str, Any] = {
        "name": object_of(asset),
        "description": _description(asset, f"{asset.object_name} data from {asset.source_type or name}"),
        "config": {
            "meta": {
                **contract_meta(asset),
                "source_type": source_type_of(asset),
                "object": object_of(asset),
                **(table_meta or {}),
            },
            "tags": contract_tags(asset, options.extra_tags),
        },
        "columns": columns,
    }
    raw_keys = table_tests([r for r in rules.table_level() if r.kind == "unique_key"], options.adapter)
    if raw_keys:  # a composite key is checked on the raw rows too (the staging model enforces it)
        table["data_tests"] = raw_keys
    source: dict[str, Any] = {
        "name": name,
        "description": f"{(asset.source_type or name).replace('_', ' ').title()} data source",
        "schema": schema or name,
        "config": {"tags": [source_type_of(asset)]},
        "tables": [table],
    }
    return {"version": 2, "sources": [source]}


def model_document(
    asset: AssetDefinition,
    options: GenerationOptions,
    *,
    model_name: str | None = None,
    rules: RuleSet | None = None,
) -> dict[str, Any]:
    """``version: 2`` + ``models:`` for the staging model, with an enforced contract and its tests."""
    name = model_name or default_model_name(asset)
    if not _NAME.fullmatch(name):
        raise DbtError(f"model name '{name}' is not a valid dbt name (letters, digits, underscores)")
    rules = rules or contract_rules(asset)
    resolve = resolver(asset, for_model=True)
    table = options.materialized == "table"
    columns = plan_columns(asset, options)
    keys = [c.name for c in columns if c.field.primary_key]
    entries = []
    for column in columns:
        constraints: list[dict[str, Any]] = []
        if table and column.masking != "null" and (column.field.required or column.field.primary_key):
            constraints.append({"type": "not_null"})
        if table and len(keys) == 1 and keys[0] == column.name and column.masking in (None, "hash"):
            constraints.append({"type": "primary_key"})
        tests = column_tests(
            rules.for_column(column.name), column, resolve=resolve, staged=True, adapter=options.adapter
        )
        entries.append(_column_entry(column, tests, staged=True, constraints=constraints))
    model: dict[str, Any] = {
        "name": name,
        "description": _description(
            asset, f"Staging model for {asset.source_type or ''} {asset.object_name}".strip()
        ),
        "config": {
            "materialized": options.materialized,
            "contract": {"enforced": True},
            "meta": contract_meta(asset, monitoring=True),
            "tags": contract_tags(asset, options.extra_tags),
        },
    }
    if table and len(keys) > 1:
        model["constraints"] = [{"type": "primary_key", "columns": keys}]
    model_tests = table_tests(rules.table_level(), options.adapter)
    if model_tests:
        model["data_tests"] = model_tests
    model["columns"] = entries
    return {"version": 2, "models": [model]}


def merge_documents(docs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """One document holding the nodes of several, sorted by name (sources of one name share tables)."""
    if key == "models":
        models = {m["name"]: m for d in docs for m in d["models"]}
        return {"version": 2, "models": sorted(models.values(), key=_name)}
    merged: dict[str, dict[str, Any]] = {}  # a later document's source and tables win
    for doc in docs:
        for source in doc["sources"]:
            tables = {**(merged.get(source["name"]) or {}).get("tables", {})}
            tables.update({t["name"]: t for t in source.get("tables") or []})
            merged[source["name"]] = {**source, "tables": tables}
    sources = [{**s, "tables": sorted(s["tables"].values(), key=_name)} for s in merged.values()]
    return {"version": 2, "sources": sorted(sources, key=_name)}


def _name(node: dict[str, Any]) -> str:
    return str(node["name"])


def masking_warnings(
    asset: AssetDefinition, options: GenerationOptions, rules: RuleSet, *, model_name: str | None = None
) -> list[str]:
    """One warning per masked staging column whose value tests stay on the source only."""
    name = model_name or default_model_name(asset)
    out = []
    for column in plan_columns(asset, options):
        kinds = masked_tests(rules.for_column(column.name), column)
        if kinds:
            out.append(
                f"{name}.{column.name}: {', '.join(kinds)} tested on source table {object_of(asset)} only "
                f"(the staging model masks this {column.classification} column with {column.masking})"
            )
    return out


def exposure_document(
    asset: AssetDefinition,
    *,
    exposure_name: str | None = None,
    exposure_type: str = "dashboard",
    depends_on: list[str] | None = None,
    model_name: str | None = None,
    label: str | None = None,
    url: str | None = None,
    maturity: str | None = None,
    description: str | None = None,
    owner_name: str | None = None,
    owner_email: str | None = None,
    extra_tags: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``version: 2`` + ``exposures:`` for a consumer of the contract's staging model (or ``depends_on``)."""
    name = exposure_name or f"{source_type_of(asset)}_{object_of(asset)}_{exposure_type}"
    if not _NAME.fullmatch(name):
        raise DbtError(f"exposure name '{name}' is not a valid dbt name (letters, digits, underscores)")
    if exposure_type not in EXPOSURE_TYPES:
        raise DbtError(f"exposure type must be one of {', '.join(EXPOSURE_TYPES)}, got '{exposure_type}'")
    if maturity is not None and maturity not in MATURITIES:
        raise DbtError(f"exposure maturity must be one of {', '.join(MATURITIES)}, got '{maturity}'")
    targets = depends_on or [model_name or default_model_name(asset)]
    nodes = [t.strip() if _NODE_CALL.match(t) else f"ref('{t}')" for t in targets]
    owner = _owner(asset, owner_name, owner_email)
    exposure: dict[str, Any] = {"name": name}
    if label:
        exposure["label"] = label
    exposure["type"] = exposure_type
    if maturity:
        exposure["maturity"] = maturity
    if url:
        exposure["url"] = url
    exposure["description"] = (
        jinja_text(description)
        if description
        else f"Consumer of data contract {contract_meta(asset)['contract_id']}"
    )
    exposure["depends_on"] = nodes
    exposure["owner"] = owner
    meta = {
        k: v
        for k, v in contract_meta(asset).items()
        if k in ("contract_id", "contract_version", "classification")
    }
    exposure["config"] = {"meta": meta, "tags": contract_tags(asset, extra_tags)}
    return {"version": 2, "exposures": [exposure]}


def _owner(asset: AssetDefinition, name: str | None, email: str | None) -> dict[str, str]:
    owner = asset.owner
    if email is None and owner and _EMAIL.fullmatch(owner):
        email = owner
    if name is None and owner and not _EMAIL.fullmatch(owner):
        name = owner
    out = {k: v for k, v in (("name", name), ("email", email)) if v}
    return out or {"name": "unassigned"}
