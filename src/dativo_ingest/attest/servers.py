"""Where a contract's data rests: one entry of its ODCS ``servers`` list, or a job config.

ODCS server types read here: ``postgres``/``postgresql`` and ``mysql`` (``host``, ``port``, ``database``,
``schema``; the table is the schema object's ``physicalName``, else its name, unless the entry names a
``table``), ``local`` and ``s3`` (``path`` or ``location``, ``format``: csv, json/jsonl, parquet), and
Iceberg as ``type: iceberg`` or ``type: custom`` with ``format: iceberg`` (``catalog``, ``uri``,
``warehouse``, ``schema``/``namespace``, ``table``; default: the workspace's SQL catalog). Credentials
never live in the contract: ``username``/``password`` may be ``${ENV}`` references (substituted with
:func:`dativo_ingest.ingest.envsubst.substitute`, which registers them as secrets), else
``DATIVO_SERVER_USERNAME``/``DATIVO_SERVER_PASSWORD`` are used. A job config gives its source (a
database or files) or its Iceberg target.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from dativo_ingest.errors import ConfigError, UsageError
from dativo_ingest.ingest.envsubst import substitute
from dativo_ingest.logging import register_secret
from dativo_ingest.odcs.model import AssetDefinition

if TYPE_CHECKING:  # a job's config is read only for --job (see attest.tester.resolve_server)
    from dativo_ingest.ingest.jobconfig import JobConfig

DATABASE_TYPES = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
FILE_FORMATS = {"csv": "csv", "json": "jsonl", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet"}
DRIVERS = {"postgres": "postgresql+psycopg", "mysql": "mysql+pymysql"}
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}


@dataclass
class Server:
    """A resolved place to test: ``kind`` is ``postgres``, ``mysql``, ``iceberg`` or ``files``."""

    name: str
    kind: str
    table: str = ""
    schema: str | None = None
    url: str | None = None  # databases: a SQLAlchemy URL (password registered as a secret)
    host: str = "localhost"
    port: int | None = None
    database: str | None = None
    paths: list[str] = field(default_factory=list)  # files
    file_format: str | None = None
    base_dir: Path = Path(".")
    catalog: dict[str, Any] | None = None  # iceberg: the CatalogConfig fields (type, name, uri, ...)
    warehouse: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)  # extra source options (csv delimiter, ...)

    def describe(self) -> str:
        """``server 'prod' (postgres 127.0.0.1:5432/test, table public.orders)``: for messages."""
        if self.kind in DATABASE_TYPES.values():
            where = f"{self.kind} {self.host}:{self.port}/{self.database}"
            return f"server '{self.name}' ({where}, table {self.qualified_table})"
        if self.kind == "iceberg":
            return f"server '{self.name}' (iceberg table {self.qualified_table})"
        return f"server '{self.name}' ({self.file_format} {', '.join(self.paths)})"

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table

    @property
    def where(self) -> str:
        """``<server>/<table>`` as the quality history records it."""
        if self.kind == "files":
            return f"{self.name}/{','.join(self.paths)}"
        return f"{self.name}/{self.qualified_table}"


def table_of(asset: AssetDefinition) -> str:
    obj = asset.primary_object
    return (obj.physical_name or obj.name) if obj is not None else asset.object_name


def from_contract(asset: AssetDefinition, name: str | None, base_dir: Path, warehouse: Path) -> Server:
    """The server ``name`` of the contract (the only one when ``name`` is None)."""
    entries = [s for s in asset.servers if isinstance(s, dict)]
    label = asset.id or asset.object_name
    if not entries:
        raise UsageError(f"contract {label} has no servers entry; add one or pass --job", field="servers")
    if name is None:
        if len(entries) > 1:
            names = ", ".join(str(s.get("server")) for s in entries)
            raise UsageError(f"contract {label} has several servers ({names}); choose one with --server")
        entry = entries[0]
    else:
        found = [s for s in entries if str(s.get("server")) == name]
        if not found:
            names = ", ".join(str(s.get("server")) for s in entries)
            raise UsageError(f"contract {label} has no server '{name}' (servers: {names})", field="servers")
        entry = found[0]
    index = entries.index(entry)
    entry = substitute(entry, path=f"servers[{index}]")
    return _server(entry, asset, base_dir, warehouse)


def _custom(entry: dict[str, Any]) -> dict[str, Any]:
    """``customProperties`` of a server entry as plain keys (``[{property, value}]``)."""
    out: dict[str, Any] = {}
    for item in entry.get("customProperties") or []:
        if isinstance(item, dict) and "property" in item:
            out[str(item["property"])] = item.get("value")
    return out


def _server(entry: dict[str, Any], asset: AssetDefinition, base_dir: Path, warehouse: Path) -> Server:
    values = {**_custom(entry), **entry}
    name = str(values.get("server") or values.get("type") or "default")
    kind = str(values.get("type") or "").lower()
    file_format = str(values.get("format") or "").lower()
    table = str(values.get("table") or table_of(asset))
    if kind in DATABASE_TYPES:
        db = DATABASE_TYPES[kind]
        host = str(values.get("host") or "localhost")
        port = int(values.get("port") or DEFAULT_PORTS[db])
        database = values.get("database")
        if not database:
            raise ConfigError(f"server '{name}' needs 'database'", field="servers.database")
        user = values.get("username") or values.get("user") or os.environ.get("DATIVO_SERVER_USERNAME")
        password = values.get("password") or os.environ.get("DATIVO_SERVER_PASSWORD")
        register_secret(password if isinstance(password, str) else None)
        auth = quote(str(user), safe="") if user else ""
        if auth and password:
            auth += ":" + quote(str(password), safe="")
        url = f"{DRIVERS[db]}://{auth + '@' if auth else ''}{host}:{port}/{database}"
        schema = values.get("schema") or ("public" if db == "postgres" else None)
        if "." in table:  # a qualified physicalName (``schema.table``, as imported) names its own schema
            schema, table = table.rsplit(".", 1)
        return Server(name, db, table, schema, url, host, port, str(database))
    if kind == "iceberg" or (kind == "custom" and file_format == "iceberg"):
        uri = values.get("uri")
        catalog = {
            "type": str(
                values.get("catalogType") or ("rest" if str(uri or "").startswith("http") else "sql")
            ),
            "name": str(values.get("catalog") or "dativo"),
            "uri": uri,
            "warehouse": values.get("warehouse"),
        }
        namespace = values.get("namespace") or values.get("schema") or "bronze"
        return Server(name, "iceberg", table, str(namespace), catalog=catalog, warehouse=warehouse)
    if kind in ("local", "s3", "file", "files"):
        location = values.get("path") or values.get("location")
        if not location:
            raise ConfigError(f"server '{name}' needs 'path' (or 'location')", field="servers.path")
        fmt = FILE_FORMATS.get(file_format or Path(str(location)).suffix.lstrip(".").lower())
        if fmt is None:
            raise UsageError(
                f"server '{name}': format {file_format or location!r} is not csv, jsonl or parquet"
            )
        paths = [str(p) for p in location] if isinstance(location, list) else [str(location)]
        options = {k: values[k] for k in ("delimiter",) if k in values}
        return Server(name, "files", table, paths=paths, file_format=fmt, base_dir=base_dir, options=options)
    raise UsageError(
        f"server '{name}' of type '{kind or '?'}' cannot be tested "
        "(postgres, mysql, iceberg, local and s3 files can)",
        field="servers.type",
    )


def from_job(job: JobConfig, asset: AssetDefinition, warehouse: Path) -> Server:
    """The data a job wrote: its Iceberg table, or the files of a Parquet target."""
    target = job.target
    name = f"job:{job.name}"
    if target.type == "iceberg":
        table = job.target_table(asset)
        catalog = target.catalog.model_dump()
        return Server(name, "iceberg", table, target.namespace, catalog=catalog, warehouse=warehouse)
    if target.path:
        path = str(job.resolve(target.path))
        return Server(
            name, "files", table_of(asset), paths=[path], file_format="parquet", base_dir=job.base_dir
        )
    raise UsageError(f"job {job.name}: its target cannot be tested at rest", field="target")
