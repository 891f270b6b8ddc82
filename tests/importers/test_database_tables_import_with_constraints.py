"""Real PostgreSQL and MariaDB tables (created here) import as contracts: types with length, precision
and time zone, nullability, primary/unique/foreign keys, CHECK constraints, comments and the server;
every format validates against the official ODCS schema and re-imports byte-identical."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.importers.helpers import field, import_all_formats, run

PG_TABLES = """
CREATE TYPE {s}.mood AS ENUM ('happy', 'sad');
CREATE TABLE {s}.customers (
  id bigint PRIMARY KEY,
  email varchar(200) NOT NULL UNIQUE,
  mood {s}.mood,
  prefs jsonb
);
INSERT INTO {s}.customers VALUES
  (1, 'ann@example.com', 'happy', '{{"theme": "dark"}}'), (2, 'bob@example.org', 'sad', '{{"theme": 2}}'),
  (3, 'cy@example.net', NULL, NULL);
COMMENT ON TABLE {s}.customers IS 'Everyone who ordered';
CREATE TABLE {s}.order_lines (
  order_id bigint,
  line int,
  customer_id bigint REFERENCES {s}.customers (id),
  status varchar(20) NOT NULL CHECK (status IN ('new', 'paid', 'shipped')),
  amount numeric(10, 2) CHECK (amount >= 0 AND amount < 100000),
  qty int CHECK (qty BETWEEN 1 AND 99),
  created_at timestamptz NOT NULL,
  local_ts timestamp,
  tags text[],
  note text CHECK (length(note) < 500),
  PRIMARY KEY (order_id, line),
  UNIQUE (customer_id, created_at)
);
COMMENT ON COLUMN {s}.order_lines.status IS 'Where the order is';
"""


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    schema = f"t_import_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
        for statement in PG_TABLES.format(s=schema).split(";"):
            if statement.strip():
                connection.execute(text(statement))
    yield schema
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.mark.postgres
def test_postgres_tables_become_contracts_with_their_constraints(
    pg_schema: str,
    postgres_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the test server trusts local connections, so any password works: it must never be written
    monkeypatch.setenv("T_IMPORT_PASSWORD", "t-import-secret")
    url = postgres_url.replace("postgres@", "postgres:${T_IMPORT_PASSWORD}@", 1)
    docs = import_all_formats(capsys, tmp_path, "--from", "postgres", url, "--schema", pg_schema)
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*.yaml"))
    assert b"t-import-secret" not in written and b"T_IMPORT_PASSWORD" not in written
    assert sorted(docs) == [f"{pg_schema}.customers.yaml", f"{pg_schema}.order_lines.yaml"]
    customers, lines = docs[f"{pg_schema}.customers.yaml"], docs[f"{pg_schema}.order_lines.yaml"]
    assert customers["servers"] == [
        {
            "server": "postgres",
            "type": "postgres",
            "host": "127.0.0.1",
            "port": 5432,
            "database": "test",
            "schema": pg_schema,
        }
    ]
    assert customers["schema"][0]["description"] == "Everyone who ordered"
    assert field(customers, "id") | {} == {
        "name": "id",
        "type": "long",
        "physicalType": "BIGINT",
        "required": True,
        "unique": True,
        "primaryKey": True,
    }
    assert field(customers, "email")["logicalTypeOptions"] == {"maxLength": 200}
    assert field(customers, "email")["unique"] is True and field(customers, "email")["required"] is True
    assert field(customers, "mood")["logicalTypeOptions"] == {"enum": ["happy", "sad"]}
    assert (
        field(lines, "order_id")["primaryKeyPosition"] == 1
        and field(lines, "line")["primaryKeyPosition"] == 2
    )
    assert "unique" not in field(lines, "order_id")  # part of a composite key is not unique alone
    assert field(lines, "status")["logicalTypeOptions"] == {
        "maxLength": 20,
        "enum": ["new", "paid", "shipped"],
    }
    assert field(lines, "status")["description"] == "Where the order is"
    assert field(lines, "amount")["type"] == "decimal"
    assert field(lines, "amount")["physicalType"] == "NUMERIC(10, 2)"
    assert field(lines, "amount")["logicalTypeOptions"] == {"minimum": 0}  # `< 100000` is strict: SQL
    assert field(lines, "qty")["logicalTypeOptions"] == {"minimum": 1, "maximum": 99}
    assert field(lines, "created_at")["type"] == "timestamp" and field(lines, "created_at")["required"]
    assert field(lines, "local_ts")["type"] == "timestamp_ntz"
    assert field(lines, "tags")["type"] == "array" and field(lines, "tags")["items"]["type"] == "string"
    assert lines["data_quality"]["expectations"] == [
        {"type": "relationships", "column": "customer_id", "to": "customers", "field": "id"}
    ]
    quality = lines["schema"][0]["quality"]
    assert quality[0] == {
        "type": "library",
        "metric": "duplicateValues",
        "arguments": {"properties": ["customer_id", "created_at"]},
        "mustBe": 0,
    }
    assert [q["query"] for q in quality[1:]] == [
        "SELECT COUNT(*) FROM {object} WHERE NOT (amount < CAST(100000 AS DECIMAL))",
        "SELECT COUNT(*) FROM {object} WHERE NOT (LENGTH(note) < 500)",
    ]


@pytest.mark.postgres
def test_profiling_a_postgres_table_proposes_from_its_rows(
    pg_schema: str, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--from", "postgres", postgres_url, "--schema", pg_schema, "--table", "customers")
    code, out, err = run(capsys, *args, "--profile", "--json")
    assert code == 0, err
    proposals = {(p["column"], p["check"]): p for p in json.loads(out)[0]["proposals"]}
    assert proposals[("email", "classification")]["classification"] == "PII"
    assert proposals[("id", "range")]["observed_maximum"] == 3
    assert ("mood", "required") not in proposals  # one row has no mood
    assert ("prefs", "required") not in proposals


@pytest.fixture
def mysql_tables(mysql_url: str) -> Iterator[str]:
    prefix = f"t_import_{uuid.uuid4().hex[:8]}"
    engine = create_engine(mysql_url)
    statements = [
        f"CREATE TABLE {prefix}_customers (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE) "
        "COMMENT='Customers'",
        f"CREATE TABLE {prefix}_orders (id BIGINT PRIMARY KEY, customer INT, "
        "status ENUM('new','paid') NOT NULL, amount DECIMAL(8,2) CHECK (amount >= 0), placed DATETIME, "
        f"stamped TIMESTAMP NULL, note VARCHAR(10) COMMENT 'free text', "
        f"FOREIGN KEY (customer) REFERENCES {prefix}_customers (id))",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    yield prefix
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {prefix}_orders, {prefix}_customers"))
    engine.dispose()


@pytest.mark.mysql
def test_mariadb_tables_become_contracts_with_their_constraints(
    mysql_tables: str, mysql_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = import_all_formats(
        capsys, tmp_path, "--from", "mysql", mysql_url, "--include", f"{mysql_tables}_*"
    )
    orders = docs[f"test.{mysql_tables}_orders.yaml"]
    customers = docs[f"test.{mysql_tables}_customers.yaml"]
    assert customers["servers"] == [
        {"server": "mysql", "type": "mysql", "host": "127.0.0.1", "port": 3306, "database": "test"}
    ]
    assert customers["schema"][0]["description"] == "Customers"
    assert field(customers, "email")["unique"] is True
    assert field(orders, "status")["logicalTypeOptions"] == {"enum": ["new", "paid"]}
    assert field(orders, "status")["required"] is True
    assert field(orders, "amount")["logicalTypeOptions"] == {"minimum": 0}
    assert field(orders, "placed")["type"] == "timestamp_ntz"
    assert field(orders, "stamped")["type"] == "timestamp"
    assert field(orders, "note")["description"] == "free text"
    assert orders["data_quality"]["expectations"] == [
        {"type": "relationships", "column": "customer", "to": f"{mysql_tables}_customers", "field": "id"}
    ]
