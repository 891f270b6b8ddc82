"""OpenLineage dataset naming for lineage nodes (https://openlineage.io/docs/spec/naming).

Uses openlineage-python's own naming classes: ``postgres://host:port`` + ``db.schema.table``,
``mysql://host:port`` + ``db.table``, ``file`` + path, ``s3://bucket`` + key. Iceberg tables are named
by their physical location (there is no ``iceberg://`` namespace); the catalog identifier goes into the
``catalog`` and ``symlinks`` facets. API sources without a location use ``<source_type>://<host>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from openlineage.client.naming import dataset as ol_naming

from dativo_ingest.lineage_graph.model import (
    DBT_MODEL,
    DBT_SEED,
    DBT_SNAPSHOT,
    DBT_SOURCE,
    SOURCE,
    TARGET,
    LineageNode,
)

DB_PORTS = {"postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306}


@dataclass(frozen=True)
class DatasetName:
    namespace: str
    name: str


def dataset_name(node: LineageNode, warehouse: Path | None = None) -> DatasetName:
    """The OpenLineage ``(namespace, name)`` of a source, target or dbt node."""
    attrs = node.attributes
    if node.kind == SOURCE:
        return _source_name(attrs)
    if node.kind == TARGET:
        return location_name(target_location(attrs, warehouse))
    relations = (DBT_MODEL, DBT_SOURCE, DBT_SEED, DBT_SNAPSHOT)
    if node.kind in relations and attrs.get("database_namespace") and attrs.get("relation"):
        return DatasetName(str(attrs["database_namespace"]), str(attrs["relation"]))
    return DatasetName("dativo", node.id)


def _source_name(attrs: dict[str, Any]) -> DatasetName:
    source_type = str(attrs.get("source_type", "")).lower()
    obj = str(attrs.get("object", ""))
    conn = dict(attrs.get("connection") or {})
    if source_type in ("postgres", "postgresql"):
        naming = ol_naming.Postgres(
            host=str(conn.get("host", "localhost")),
            port=str(conn.get("port", DB_PORTS["postgres"])),
            database=str(conn.get("database", "postgres")),
            schema=str(conn.get("schema", "public")),
            table=str(conn.get("table", obj)),
        )
        return DatasetName(naming.get_namespace(), naming.get_name())
    if source_type in ("mysql", "mariadb"):
        mysql = ol_naming.MySQL(
            host=str(conn.get("host", "localhost")),
            port=str(conn.get("port", DB_PORTS["mysql"])),
            database=str(conn.get("database", "mysql")),
            table=str(conn.get("table", obj)),
        )
        return DatasetName(mysql.get_namespace(), mysql.get_name())
    location = conn.get("path") or conn.get("uri") or conn.get("location")
    if location or source_type in ("file", "csv", "parquet", "json", "jsonl", "local", "s3"):
        return location_name(str(location or obj))
    base_url = conn.get("base_url") or conn.get("url")
    if base_url:
        parsed = urlparse(str(base_url))
        return DatasetName(f"{parsed.scheme}://{parsed.netloc}", obj)
    return DatasetName(f"{source_type or 'api'}://{conn.get('host', source_type or 'default')}", obj)


def location_name(location: str) -> DatasetName:
    """Name a dataset by where its files live: ``s3://bucket`` + key, or ``file`` + absolute path."""
    parsed = urlparse(location)
    if parsed.scheme in ("s3", "s3a", "s3n") and parsed.netloc:
        naming: Any = ol_naming.S3(bucket_name=parsed.netloc, object_key=parsed.path.lstrip("/") or "/")
        return DatasetName(naming.get_namespace(), naming.get_name())
    if parsed.scheme in ("gs", "gcs") and parsed.netloc:
        naming = ol_naming.GCS(bucket_name=parsed.netloc, object_key=parsed.path.lstrip("/") or "/")
        return DatasetName(naming.get_namespace(), naming.get_name())
    path = parsed.path if parsed.scheme == "file" else location
    naming = ol_naming.LocalFileSystem(path=str(Path(path).expanduser().resolve()) if path else "/")
    return DatasetName(naming.get_namespace(), naming.get_name())


def target_location(attrs: dict[str, Any], warehouse: Path | None) -> str:
    """Where a target table lives: its ``location``, else pyiceberg's default for a catalog with a
    warehouse, ``<warehouse>/<namespace>/<table>`` (where dativo's runs create their tables)."""
    if attrs.get("location"):
        return str(attrs["location"])
    root = Path(attrs.get("warehouse") or warehouse or "warehouse")
    return str(root / str(attrs.get("catalog")) / str(attrs.get("table")))
