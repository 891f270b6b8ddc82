"""Seeded tables for ``contract test``: the same ten rows in PostgreSQL, MariaDB, Iceberg and files.

Every violation is seeded once per check, so each check has an exact expected count
(:data:`EXPECTED`). Database tables get a unique ``t_attest_<hex>`` name and are dropped after the test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from sqlalchemy import create_engine, text

from dativo_ingest.store.database import MetadataStore

COLUMNS = ("id", "email", "status", "amount", "code", "note")
ROWS: list[tuple[Any, ...]] = [
    (1, "ann@example.com", "paid", 10.0, "ab", "x"),
    (2, "bob@example.com", "open", 20.0, "abc", "x"),
    (2, "cid@example.com", "paid", 30.0, "abcd", "x"),  # unique:id
    (None, "dee@example.com", "open", 40.0, "ab", "x"),  # not_null:id
    (5, "eve-at-example", "paid", 50.0, "ab", "x"),  # regex:email
    (6, "fay@example.com", "PAID", 60.0, "ab", "x"),  # accepted_values:status (case counts)
    (7, "gus@example.com", "closed", -5.0, "ab", "x"),  # accepted_values:status, range:amount
    (8, "hal@example.com", "open", 5000.0, "a", "x"),  # range:amount, length:code
    (9, "ida@example.com", "paid", 70.0, "abcde", "x"),  # length:code
    (10, None, None, None, None, None),  # nulls pass every check but not_null
]
EMAILS = [r[1] for r in ROWS if r[1]]
EXPECTED = {
    "not_null:id": 1,
    "unique:id": 1,
    "regex:email": 1,
    "accepted_values:status": 2,
    "range:amount": 2,
    "length:code": 2,
}
PROPERTIES: list[dict[str, Any]] = [
    {"name": "id", "logicalType": "integer", "required": True, "unique": True},
    {
        "name": "email",
        "logicalType": "string",
        "classification": "PII",
        "logicalTypeOptions": {"pattern": "^[^@]+@[^@]+$"},
    },
    {"name": "status", "logicalType": "string", "logicalTypeOptions": {"enum": ["paid", "open"]}},
    {"name": "amount", "logicalType": "number", "logicalTypeOptions": {"minimum": 0, "maximum": 1000}},
    {"name": "code", "logicalType": "string", "logicalTypeOptions": {"minLength": 2, "maxLength": 4}},
]


def write_contract(
    folder: Path,
    table: str,
    servers: list[dict[str, Any]],
    quality: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> Path:
    """An ODCS v3.1 contract for ``table`` with ``servers`` and table-level ``quality`` rules; ``extra``
    adds top-level keys."""
    obj: dict[str, Any] = {"name": table, "physicalName": table, "properties": PROPERTIES}
    if quality:
        obj["quality"] = quality
    document = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": f"{table}-contract",
        "name": table,
        "version": "1.0.0",
        "status": "active",
        "servers": servers,
        "schema": [obj],
        **extra,
    }
    path = folder / f"{table}.odcs.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def arrow_table() -> pa.Table:
    columns = list(zip(*ROWS, strict=True))
    types = [pa.int64(), pa.string(), pa.string(), pa.float64(), pa.string(), pa.string()]
    return pa.table({n: pa.array(list(v), type=t) for n, v, t in zip(COLUMNS, columns, types, strict=True)})


def _driver(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


def _server_of(url: str, kind: str) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    parsed = make_url(_driver(url))
    entry: dict[str, Any] = {
        "server": kind,
        "type": kind,
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or (5432 if kind == "postgres" else 3306),
        "database": parsed.database,
    }
    if kind == "postgres":
        entry["schema"] = "public"
    if parsed.username:
        entry["username"] = parsed.username
    return entry


@pytest.fixture
def unique_name() -> str:
    return f"t_attest_{uuid.uuid4().hex[:10]}"


def _seed_database(url: str, table: str, kind: str) -> Iterator[None]:
    engine = create_engine(_driver(url))
    text_type = "TEXT" if kind == "postgres" else "VARCHAR(64)"
    number = "DOUBLE PRECISION" if kind == "postgres" else "DOUBLE"
    with engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE {table} (id INTEGER, email {text_type}, status {text_type}, "
                f"amount {number}, code {text_type}, note {text_type})"
            )
        )
        conn.execute(
            text(f"INSERT INTO {table} VALUES (:id, :email, :status, :amount, :code, :note)"),
            [dict(zip(COLUMNS, row, strict=True)) for row in ROWS],
        )
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


@pytest.fixture
def seeded(request: pytest.FixtureRequest, workspace: Path, unique_name: str) -> Iterator[dict[str, Any]]:
    """``{"kind", "table", "server"}``: the rows stored as ``request.param`` (postgres, mysql, iceberg,
    parquet, csv, jsonl), with the contract's servers entry that finds them."""
    kind = request.param
    table = unique_name
    if kind in ("postgres", "mysql"):
        url = request.getfixturevalue("postgres_url" if kind == "postgres" else "mysql_url")
        seeding = _seed_database(url, table, kind)
        next(seeding)
        try:
            yield {"kind": kind, "table": table, "server": _server_of(url, kind)}
        finally:
            next(seeding, None)
        return
    data = arrow_table()
    if kind == "iceberg":
        from dativo_ingest.ingest.jobconfig import CatalogConfig
        from dativo_ingest.ingest.targets.iceberg import load_catalog_for

        catalog = load_catalog_for(CatalogConfig(), workspace / "warehouse")
        catalog.create_namespace_if_not_exists("bronze")
        iceberg = catalog.create_table(f"bronze.{table}", schema=data.schema)
        half = data.num_rows // 2  # two snapshots, two data files: the scan streams several batches
        iceberg.append(data.slice(0, half))
        iceberg.append(data.slice(half))
        yield {
            "kind": kind,
            "table": table,
            "server": {"server": "lake", "type": "custom", "format": "iceberg", "schema": "bronze"},
        }
        return
    path = workspace / "data" / f"{table}.{kind}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        pq.write_table(data, path, row_group_size=4)
    elif kind == "csv":
        pacsv.write_csv(data, path)
    else:
        path.write_text("\n".join(json.dumps(r) for r in data.to_pylist()) + "\n", encoding="utf-8")
    yield {
        "kind": kind,
        "table": table,
        "server": {"server": "files", "type": "local", "path": str(path), "format": kind},
    }


def history_rows(**filters: Any) -> list[dict[str, Any]]:
    from dativo_ingest.store import quality

    return quality.history(MetadataStore.for_workspace(), **filters)
