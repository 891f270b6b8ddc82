"""Apache Iceberg tables through pyiceberg.

SOURCE is a dativo warehouse folder (the SQL catalog on ``catalog.db`` inside it, as ingestion writes
it) or a YAML file with a catalog config (the job's ``target.catalog``: ``type``, ``uri``,
``warehouse``, ``properties``; ``${ENV}`` resolved). ``--schema`` is the namespace (default: every one).
Field types map one to one (structs, lists and maps nested), field docs become descriptions, required
fields ``required``, identifier fields the primary key; the partition spec and sort order are recorded
as ``dativo.partitionSpec``/``dativo.sortOrder`` custom properties (identity partitions also as
``partitioned`` fields).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
from pyiceberg import types as it

from dativo_ingest.envsubst import substitute
from dativo_ingest.errors import ContractImportError, DativoError
from dativo_ingest.importers.base import ImportedContract, ImportRequest, contract, safe_stem, select
from dativo_ingest.importers.profile import profile_object
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import catalog_properties, load_catalog_for
from dativo_ingest.logging import redact_text
from dativo_ingest.odcs.model import SchemaObject
from dativo_ingest.yamlio import load_mapping

_PRIMITIVES: tuple[tuple[type, str], ...] = (
    (it.BooleanType, "boolean"),
    (it.IntegerType, "integer"),
    (it.LongType, "long"),
    (it.FloatType, "float"),
    (it.DoubleType, "double"),
    (it.DecimalType, "decimal"),
    (it.DateType, "date"),
    (it.TimeType, "time"),
    (it.TimestamptzType, "timestamp"),
    (it.TimestampType, "timestamp_ntz"),
    (it.StringType, "string"),
    (it.UUIDType, "uuid"),
    (it.FixedType, "binary"),
    (it.BinaryType, "binary"),
)


def import_iceberg(request: ImportRequest) -> list[ImportedContract]:
    """One contract per selected table of the catalog ``request.source`` names."""
    config, warehouse, where = _catalog_config(request.source)
    try:
        catalog = load_catalog_for(config, warehouse)
        namespaces = [request.schema] if request.schema else [".".join(n) for n in catalog.list_namespaces()]
        names: list[str] = []
        for namespace in namespaces:
            names.extend(f"{namespace}.{t[-1]}" for t in catalog.list_tables(namespace))
    except DativoError as exc:
        raise ContractImportError(f"{where}: {exc.message}") from exc
    except Exception as exc:
        raise ContractImportError(f"{where}: {_reason(exc)}") from exc
    results = []
    for name in select(request, names, where):
        try:
            table = catalog.load_table(name)
        except Exception as exc:
            raise ContractImportError(f"{where}: cannot load table {name}: {_reason(exc)}") from exc
        results.append(_contract(request, table, name, where, _server_place(config, warehouse)))
    return results


def _server_place(config: CatalogConfig, warehouse: Path) -> dict[str, str]:
    """The ODCS iceberg server's catalog URL and warehouse (user names and passwords left out)."""
    props = catalog_properties(config, warehouse)
    place = {"catalogUrl": _without_credentials(props["uri"])}
    if props.get("warehouse"):
        place["warehouse"] = _without_credentials(props["warehouse"])
    return place


def _without_credentials(uri: str) -> str:
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _catalog_config(source: str) -> tuple[CatalogConfig, Path, str]:
    path = Path(source)
    if path.is_dir():
        if not (path / "catalog.db").is_file():
            raise ContractImportError(f"{path}: no Iceberg SQL catalog (catalog.db) in this folder")
        return CatalogConfig(), path.absolute(), f"Iceberg warehouse {path}"  # file URIs need absolute
    if path.is_file():
        try:
            data = substitute(load_mapping(path), source=str(path))
            data = data.get("catalog", data)
            config = CatalogConfig.model_validate(data)
        except DativoError as exc:
            raise ContractImportError(str(exc)) from exc
        except Exception as exc:
            raise ContractImportError(f"{path}: not an Iceberg catalog config: {_reason(exc)}") from exc
        return config, path.absolute().parent, f"Iceberg catalog {config.name}"
    raise ContractImportError(f"{path}: neither an Iceberg warehouse folder nor a catalog config file")


def _contract(
    request: ImportRequest, table: Any, name: str, where: str, place: dict[str, str]
) -> ImportedContract:
    schema = table.schema()
    namespace, _, short = name.rpartition(".")
    identifiers = [schema.find_column_name(i) for i in sorted(schema.identifier_field_ids)]
    partitions = _partition_spec(table, schema)
    fields = []
    for nested in schema.fields:
        entry = _field(nested, f"{name}.{nested.name}")
        if nested.name in identifiers:
            entry["primaryKey"] = True
            entry["required"] = True
            if len(identifiers) > 1:
                entry["primaryKeyPosition"] = identifiers.index(nested.name) + 1
            else:
                entry["unique"] = True
        identity = [p for p in partitions if p["source"] == nested.name and p["transform"] == "identity"]
        if identity:
            entry["partitioned"] = True
            entry["partitionKeyPosition"] = partitions.index(identity[0]) + 1
        fields.append(entry)
    custom: list[dict[str, Any]] = []
    if partitions:
        custom.append({"property": "dativo.partitionSpec", "value": partitions})
    sort = _sort_order(table, schema)
    if sort:
        custom.append({"property": "dativo.sortOrder", "value": sort})
    obj = SchemaObject.model_validate(
        {
            "name": short,
            "physicalName": name,
            "physicalType": "table",
            "description": table.properties.get("comment") or None,
            "properties": fields,
            "customProperties": custom,
        }
    )
    proposals = profile_object(obj, _sample(table, request.sample_rows, where)) if request.profile else []
    server = {
        "server": "iceberg",
        "type": "iceberg",
        "catalog": table.catalog.name,
        **place,
        "namespace": namespace,
    }
    asset = contract(request, source_type="iceberg", obj=obj, servers=[server])
    return ImportedContract(asset, safe_stem(namespace, short), proposals)


def _field(nested: Any, where: str) -> dict[str, Any]:
    entry = _typed(nested.name, nested.field_type, where)
    if nested.required:
        entry["required"] = True
    if nested.doc:
        entry["description"] = nested.doc
    return entry


def _typed(name: str, kind: Any, where: str) -> dict[str, Any]:
    if isinstance(kind, it.StructType):
        return {
            "name": name,
            "type": "object",
            "physicalType": "struct",
            "properties": [_field(f, f"{where}.{f.name}") for f in kind.fields],
        }
    if isinstance(kind, it.ListType):
        item = _typed("item", kind.element_type, f"{where}[]")
        if kind.element_required:
            item["required"] = True
        return {"name": name, "type": "array", "physicalType": "list", "items": item}
    if isinstance(kind, it.MapType):
        return {"name": name, "type": "object", "physicalType": str(kind)}
    logical = next((logical for cls, logical in _PRIMITIVES if isinstance(kind, cls)), None)
    if logical is None:
        raise ContractImportError(f"{where}: unsupported column type '{kind}'")
    return {"name": name, "type": logical, "physicalType": str(kind)}


def _partition_spec(table: Any, schema: Any) -> list[dict[str, Any]]:
    return [
        {"source": schema.find_column_name(f.source_id), "transform": str(f.transform), "name": f.name}
        for f in table.spec().fields
    ]


def _sort_order(table: Any, schema: Any) -> list[dict[str, Any]]:
    return [
        {
            "source": schema.find_column_name(f.source_id),
            "transform": str(f.transform),
            "direction": f.direction.value,
            "nullOrder": f.null_order.value,
        }
        for f in table.sort_order().fields
    ]


def _sample(table: Any, rows: int, where: str) -> pa.Table:
    try:
        return table.scan(limit=rows).to_arrow()
    except Exception as exc:
        raise ContractImportError(f"{where}: cannot read a sample of {table.name()}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return redact_text(text.splitlines()[0] if text else type(exc).__name__)
