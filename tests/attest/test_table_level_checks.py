"""Composite keys, relationships (an anti-join in the database), metrics with thresholds, row counts and
warning-severity checks, on PostgreSQL, MariaDB and Parquet (where relationships are skipped, with the
reason)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from sqlalchemy import create_engine, text

from dativo_ingest.cli.app import main

ORDERS = [
    (1, 1, 10, "n1"),
    (1, 1, 11, "n2"),  # repeats the key (1, 1)
    (1, 2, 99, "x"),  # customer 99 does not exist; the note breaks a warning-severity pattern
    (2, 1, None, "n"),  # 20% of customer ids are null: more than the 10% allowed
    (3, 1, 10, "n"),
]


def contract(folder: Path, table: str, server: dict[str, Any]) -> Path:
    document = {
        "id": f"{table}-orders",
        "name": table,
        "version": "1.0.0",
        "source_type": "shop",
        "object": table,
        "team": {"owner": "data@example.com"},
        "servers": [server],
        "schema": [
            {"name": "order_id", "type": "integer", "primaryKey": True, "primaryKeyPosition": 1},
            {"name": "line", "type": "integer", "primaryKey": True, "primaryKeyPosition": 2},
            {
                "name": "customer_id",
                "type": "integer",
                "quality": [{"metric": "nullValues", "unit": "percent", "mustBeLessThan": 10}],
            },
            {"name": "note", "type": "string"},
        ],
        "data_quality": {
            "expectations": [
                {"type": "relationships", "column": "customer_id", "to": f"{table}_customers", "field": "id"},
                {"type": "row_count", "min": 3},
                {"type": "regex", "column": "note", "pattern": "^n", "severity": "warning"},
                {"type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE note LIKE 'n%'", "mustBe": 4},
            ]
        },
    }
    path = folder / f"{table}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def orders(request: pytest.FixtureRequest, workspace: Path, unique_name: str) -> Iterator[tuple[str, dict]]:
    kind = request.param
    if kind == "parquet":
        path = workspace / f"{unique_name}.parquet"
        columns = list(zip(*ORDERS, strict=True))
        pq.write_table(
            pa.table(
                {
                    n: list(v)
                    for n, v in zip(("order_id", "line", "customer_id", "note"), columns, strict=True)
                }
            ),
            path,
        )
        yield kind, {"server": "files", "type": "local", "path": str(path), "format": "parquet"}
        return
    url = request.getfixturevalue("postgres_url" if kind == "postgres" else "mysql_url")
    from tests.attest.conftest import _driver, _server_of

    engine = create_engine(_driver(url))
    with engine.begin() as conn:
        conn.execute(
            text(f"CREATE TABLE {unique_name} (order_id INT, line INT, customer_id INT, note VARCHAR(16))")
        )
        conn.execute(text(f"CREATE TABLE {unique_name}_customers (id INT)"))
        conn.execute(
            text(f"INSERT INTO {unique_name} VALUES (:a, :b, :c, :d)"),
            [dict(zip("abcd", row, strict=True)) for row in ORDERS],
        )
        conn.execute(text(f"INSERT INTO {unique_name}_customers VALUES (10), (11)"))
    try:
        yield kind, _server_of(url, kind)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {unique_name}"))
            conn.execute(text(f"DROP TABLE IF EXISTS {unique_name}_customers"))
        engine.dispose()


@pytest.mark.parametrize(
    "orders",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
        "parquet",
    ],
    indirect=True,
)
def test_table_level_checks(orders, workspace: Path, unique_name: str, capsys) -> None:
    kind, server = orders
    code = main(["contract", "test", str(contract(workspace, unique_name, server)), "--json"])
    checks = {c["id"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert code == 1
    assert checks["unique_key:order_id+line"]["failed"] == 1
    assert checks["unique_key:order_id+line"]["status"] == "failed"
    assert checks["not_null:order_id"]["status"] == "passed" and checks["not_null:line"]["status"] == "passed"
    metric = checks["metric:customer_id"]
    assert (metric["status"], metric["failed"], metric["value"]) == ("failed", 1, 20.0)
    assert checks["row_count"]["status"] == "passed" and checks["row_count"]["value"] == 5
    assert checks["regex:note"]["status"] == "warned" and checks["regex:note"]["failed"] == 1
    relationship = checks["relationships:customer_id"]
    if kind == "parquet":
        assert relationship["status"] == "skipped" and "SQL engine" in relationship["reason"]
        assert checks["sql"]["status"] == "skipped"
    else:
        assert relationship["status"] == "failed" and relationship["failed"] == 1
        assert [row["customer_id"] for row in relationship["examples"]] == [99]
        assert (checks["sql"]["status"], checks["sql"]["value"]) == ("passed", 4)  # a % reaches the database
