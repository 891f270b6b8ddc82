"""A dbt ``manifest.json`` (+ ``catalog.json``) as contracts: one per model, seed, snapshot and source.

Read with the manifest importer lineage uses (:func:`dativo_ingest.dbt.manifest.load_manifest`).
Columns come from the catalog, the declared columns and computed lineage; types from ``catalog.json``,
else the declared ``data_type``, mapped in the adapter's dialect. Descriptions, tags and ``meta`` are
kept (``meta`` as ``dativo.dbt_meta``). The project's generic tests map back to checks: ``not_null`` ->
``required``, ``unique`` -> ``unique``, ``accepted_values`` -> accepted values, ``relationships`` -> a
relationships expectation, ``dbt_utils.accepted_range`` and ``dbt_expectations`` value, range, regex,
length and row-count tests to their checks, ``dbt_utils.unique_combination_of_columns`` -> a composite
``duplicateValues`` rule. A test with no counterpart is reported as a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dativo_ingest.dbt.manifest import MODEL_KINDS, DbtNode, ManifestGraph, load_manifest
from dativo_ingest.dbt.manifest_tests import DbtTest
from dativo_ingest.errors import ContractImportError, DativoError
from dativo_ingest.importers.base import (
    ImportedContract,
    ImportRequest,
    contract,
    find_field,
    relationship,
    safe_stem,
    select,
)
from dativo_ingest.importers.constraints import WHOLE_NUMBERS
from dativo_ingest.importers.sqltypes import column_field
from dativo_ingest.odcs.model import SchemaField, SchemaObject
from dativo_ingest.odcs.versions import SCHEMA_VERSIONS, server_fits

_DIALECTS = {
    "postgres": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "spark": "spark",
    "duckdb": "duckdb",
    "trino": "trino",
}


def import_dbt(request: ImportRequest) -> list[ImportedContract]:
    """One contract per selected node of the manifest ``request.source`` (a file, or a ``target/`` or
    project folder holding ``manifest.json``)."""
    manifest, catalog = _locate(Path(request.source), request.catalog)
    try:
        graph = load_manifest(manifest, catalog=catalog)
    except DativoError as exc:
        raise ContractImportError(str(exc)) from exc
    nodes = {_stem(n): n for n in graph.nodes.values() if n.resource_type in (*MODEL_KINDS, "source")}
    chosen = select(request, nodes, f"dbt manifest {manifest}")
    return [_contract(request, graph, nodes[stem], stem) for stem in chosen]


def _locate(source: Path, catalog: str | None) -> tuple[Path, Path | None]:
    manifest = source
    if source.is_dir():
        target = source / "target" if (source / "target" / "manifest.json").is_file() else source
        manifest = target / "manifest.json"
    if not manifest.is_file():
        raise ContractImportError(f"{manifest}: no dbt manifest (run `dbt parse` or `dbt build` first)")
    found = Path(catalog) if catalog else manifest.parent / "catalog.json"
    if catalog and not found.is_file():
        raise ContractImportError(f"{found}: no such catalog.json")
    return manifest, found if found.is_file() else None


def _stem(node: DbtNode) -> str:
    if node.resource_type == "source":
        return f"source.{node.source_name}.{node.name}"
    return f"{node.resource_type}.{node.name}"


def _contract(request: ImportRequest, graph: ManifestGraph, node: DbtNode, stem: str) -> ImportedContract:
    docs = node.docs
    dialect = _DIALECTS.get(graph.adapter)
    fields = [_field(node, name, kind, dialect, stem) for name, kind in _columns(graph, node).items()]
    obj = SchemaObject.model_validate(
        {
            "name": node.name,
            "physicalName": node.relation_name or node.name,
            "physicalType": node.materialized or ("table" if node.resource_type != "source" else "source"),
            "description": docs.get("description"),
            "tags": docs.get("tags") or [],
            "properties": fields,
            "customProperties": [{"property": "dativo.dbt_meta", "value": node.meta}] if node.meta else [],
        }
    )
    untyped = [f["name"] for f in fields if not f.get("type")]
    warnings: list[str] = []
    if untyped:
        warnings.append(
            f"{stem}: no type known for {', '.join(untyped)} (`dbt docs generate` writes them to "
            "catalog.json, or declare data_type); add types before saving"
        )
    expectations: list[dict[str, Any]] = []
    for test in (t for t in graph.tests if t.attached_to == node.unique_id):
        problem = _apply_test(obj, test, graph, expectations)
        if problem:
            warnings.append(f"{stem}: dbt test {test.name} ({test.unique_id}) {problem}")
    server = {
        "server": graph.adapter or "dbt",
        "type": graph.adapter,
        "database": docs.get("database"),
        "schema": docs.get("schema"),
    }
    server = {k: v for k, v in server.items() if v}
    servers = [server] if server.get("type") and server_fits(server, SCHEMA_VERSIONS[-1]) else []
    custom = [{"property": "dativo.dbt_node", "value": node.unique_id}]
    asset = contract(
        request,
        source_type="dbt",
        obj=obj,
        servers=servers,
        expectations=expectations,
        tags=docs.get("tags") or [],
        custom=custom,
        contract_id=f"dbt-{stem}",
    )
    return ImportedContract(asset, safe_stem(stem), warnings=warnings)


def _columns(graph: ManifestGraph, node: DbtNode) -> dict[str, str | None]:
    """Column -> type: catalog types first, then declared columns (in declaration order)."""
    catalog = graph.catalog_types.get(node.unique_id) or {}
    known = graph.known_columns.get(node.unique_id) or {}
    columns: dict[str, str | None] = {}
    for name in [*catalog, *known, *node.columns]:
        lowered = name.lower()
        if lowered not in columns:
            columns[lowered] = catalog.get(lowered) or node.column_types.get(name) or known.get(name)
    return columns


def _field(node: DbtNode, name: str, kind: str | None, dialect: str | None, stem: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if kind:
        entry = column_field(name, kind, dialect, f"{stem}.{name}")
    documented = (node.docs.get("columns") or {}).items()
    column_docs: dict[str, Any] = next((d for n, d in documented if n.lower() == name), {})
    if column_docs.get("description"):
        entry["description"] = column_docs["description"]
    if column_docs.get("tags"):
        entry["tags"] = column_docs["tags"]
    if column_docs.get("meta"):
        entry["customProperties"] = [{"property": "dativo.dbt_meta", "value": column_docs["meta"]}]
    return entry


def _apply_test(
    obj: SchemaObject, test: DbtTest, graph: ManifestGraph, expectations: list[dict[str, Any]]
) -> str | None:
    """Put ``test``'s check on ``obj`` (or into ``expectations``); a reason when it has no counterpart."""
    name, kwargs = test.name.lower(), test.kwargs
    if name == "dbt_utils.unique_combination_of_columns":
        columns = [str(c) for c in kwargs.get("combination_of_columns") or []]
        obj.quality.append(
            {
                "type": "library",
                "metric": "duplicateValues",
                "arguments": {"properties": columns},
                "mustBe": 0,
            }
        )
        return None
    if name == "dbt_expectations.expect_table_row_count_to_be_between":
        bounds = _bounds(kwargs, "min_value", "max_value")
        if bounds is None:
            return "has no bounds"
        obj.quality.append({"type": "library", "metric": "rowCount", **bounds})
        return None
    column = find_field(obj.properties, str(test.column or "").strip('"`').lower()) if test.column else None
    if column is None:
        return "names no known column"
    return _column_test(column, name, kwargs, test, graph, expectations)


def _column_test(
    column: SchemaField,
    name: str,
    kwargs: dict[str, Any],
    test: DbtTest,
    graph: ManifestGraph,
    expectations: list[dict[str, Any]],
) -> str | None:
    options = dict(column.logical_type_options or {})
    if name in ("not_null", "dbt_expectations.expect_column_values_to_not_be_null"):
        column.required = True
    elif name in ("unique", "dbt_expectations.expect_column_values_to_be_unique"):
        column.unique = True
    elif name in ("accepted_values", "dbt_expectations.expect_column_values_to_be_in_set"):
        values = kwargs.get("values", kwargs.get("value_set"))
        if not isinstance(values, list):
            return "has no list of values"
        options["enum"] = values
    elif name == "relationships":
        target = next((graph.nodes[n] for n in test.refers_to if n in graph.nodes), None)
        to = target.name if target is not None else str(kwargs.get("to") or "")
        expectations.append(relationship(column.name, to, str(kwargs.get("field") or column.name)))
    elif name in ("dbt_utils.accepted_range", "dbt_expectations.expect_column_values_to_be_between"):
        strict = kwargs.get("inclusive") is False or bool(kwargs.get("strictly"))
        whole = column.type in WHOLE_NUMBERS
        for key, bound, step in (
            ("minimum", kwargs.get("min_value"), 1),
            ("maximum", kwargs.get("max_value"), -1),
        ):
            if not isinstance(bound, int | float) or isinstance(bound, bool):
                continue
            if strict and not (whole and isinstance(bound, int)):
                return (
                    "is strict on a column that is not a whole number (ODCS versions spell that differently)"
                )
            options[key] = bound + step if strict else bound
    elif name == "dbt_expectations.expect_column_values_to_match_regex":
        options["pattern"] = str(kwargs.get("regex"))
    elif name == "dbt_expectations.expect_column_value_lengths_to_be_between":
        for key, bound in (("minLength", kwargs.get("min_value")), ("maxLength", kwargs.get("max_value"))):
            if isinstance(bound, int) and not isinstance(bound, bool):
                options[key] = bound
    else:
        return "has no dativo check counterpart; not imported"
    column.logical_type_options = options or None
    return None


def _bounds(kwargs: dict[str, Any], low: str, high: str) -> dict[str, Any] | None:
    low_value, high_value = kwargs.get(low), kwargs.get(high)
    if low_value is not None and high_value is not None:
        return {"mustBeBetween": [low_value, high_value]}
    if low_value is not None:
        return {"mustBeGreaterOrEqualTo": low_value}
    if high_value is not None:
        return {"mustBeLessOrEqualTo": high_value}
    return None
