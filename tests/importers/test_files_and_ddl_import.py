"""Parquet, CSV and JSON Lines files (types inferred by pyarrow on a bounded sample) and SQL DDL (sqlglot)
import as contracts that validate in every format and re-import byte-identical."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.importers.helpers import field, fields_of, import_all_formats, run


def test_parquet_keeps_declared_types_and_nullability(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("price", pa.decimal128(9, 3)),
            pa.field("at", pa.timestamp("us", tz="UTC")),
            pa.field("local", pa.timestamp("ms")),
            pa.field("point", pa.struct([pa.field("x", pa.float64()), pa.field("y", pa.float32())])),
            pa.field("labels", pa.list_(pa.string())),
        ]
    )
    pq.write_table(
        pa.table({n: [None] for n in schema.names} | {"id": [1]}, schema), tmp_path / "items.parquet"
    )
    docs = import_all_formats(capsys, tmp_path / "out", "--from", "parquet", str(tmp_path / "items.parquet"))
    doc = docs["items.yaml"]
    assert doc["servers"] == [
        {
            "server": "local",
            "type": "local",
            "path": (tmp_path / "items.parquet").as_posix(),
            "format": "parquet",
        }
    ]
    assert field(doc, "id") == {"name": "id", "type": "long", "physicalType": "int64", "required": True}
    assert (
        field(doc, "price")["type"] == "decimal" and field(doc, "price")["physicalType"] == "decimal128(9, 3)"
    )
    assert field(doc, "at")["type"] == "timestamp" and field(doc, "local")["type"] == "timestamp_ntz"
    assert [p["type"] for p in field(doc, "point")["properties"]] == ["double", "float"]
    assert field(doc, "labels")["items"]["type"] == "string"


def test_csv_and_jsonl_types_are_inferred_from_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "drops"
    folder.mkdir()
    (folder / "orders.csv").write_text("id,amount,day,status\n1,2.5,2024-01-01,new\n2,3.0,2024-01-02,paid\n")
    (folder / "ignored.txt").write_text("not a drop")
    (folder / "events.jsonl").write_text(
        "\n".join(json.dumps({"id": i, "user": {"name": "a", "age": i}, "tags": ["x"]}) for i in range(3))
        + "\n"
    )
    docs = import_all_formats(capsys, tmp_path / "out-csv", "--from", "csv", str(folder))
    assert list(docs) == ["orders.yaml"]
    assert [(f["name"], f["type"]) for f in fields_of(docs["orders.yaml"])] == [
        ("id", "long"),
        ("amount", "double"),
        ("day", "date"),
        ("status", "string"),
    ]
    assert not any(f.get("required") for f in fields_of(docs["orders.yaml"]))  # inferred: nullability unknown
    docs = import_all_formats(capsys, tmp_path / "out-jsonl", "--from", "jsonl", str(folder / "events.jsonl"))
    user = field(docs["events.yaml"], "user")
    assert [(p["name"], p["type"]) for p in user["properties"]] == [("name", "string"), ("age", "long")]
    assert field(docs["events.yaml"], "tags")["type"] == "array"


def test_sample_rows_bounds_what_inference_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = ["n"] + [str(i) for i in range(10)] + ["not a number"]
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "--from", "csv", str(tmp_path / "late.csv"), "--sample-rows", "10")
    assert code == 0, err
    assert "type: long" in out
    code, out, err = run(capsys, "--from", "csv", str(tmp_path / "late.csv"))
    assert code == 0, err
    assert "type: string" in out


DDL = """
CREATE TABLE shop.customers (
  id INT NOT NULL PRIMARY KEY,
  email VARCHAR(120) NOT NULL UNIQUE,
  tier TEXT CHECK (tier IN ('gold', 'silver'))
);
CREATE TABLE shop.orders (
  id BIGINT NOT NULL,
  customer_id INT REFERENCES shop.customers (id),
  total NUMERIC(12, 2) NOT NULL CHECK (total >= 0),
  qty INT CHECK (qty > 0 AND qty <= 1000),
  placed_at TIMESTAMP WITH TIME ZONE,
  CONSTRAINT orders_pk PRIMARY KEY (id),
  CONSTRAINT orders_total_cap CHECK (total < 1000000 OR qty = 1),
  FOREIGN KEY (id, qty) REFERENCES shop.lots (order_id, qty)
);
COMMENT ON TABLE shop.orders IS 'Orders placed';
COMMENT ON COLUMN shop.orders.total IS 'Gross total';
"""


def test_ddl_becomes_contracts_with_constraints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "shop.sql").write_text(DDL)
    args = ("--from", "ddl", str(tmp_path / "shop.sql"), "--dialect", "postgres")
    docs = import_all_formats(capsys, tmp_path / "out", *args)
    assert sorted(docs) == ["shop.customers.yaml", "shop.orders.yaml"]
    customers, orders = docs["shop.customers.yaml"], docs["shop.orders.yaml"]
    assert field(customers, "id") == {
        "name": "id",
        "type": "integer",
        "physicalType": "INT",
        "required": True,
        "unique": True,
        "primaryKey": True,
    }
    assert field(customers, "email")["logicalTypeOptions"] == {"maxLength": 120}
    assert field(customers, "tier")["logicalTypeOptions"] == {"enum": ["gold", "silver"]}
    assert orders["schema"][0]["description"] == "Orders placed"
    assert field(orders, "id")["primaryKey"] is True
    assert field(orders, "total")["description"] == "Gross total"
    assert field(orders, "total")["logicalTypeOptions"] == {"minimum": 0}
    assert field(orders, "qty")["logicalTypeOptions"] == {"minimum": 1, "maximum": 1000}
    assert field(orders, "placed_at")["type"] == "timestamp"
    assert orders["data_quality"]["expectations"] == [
        {"type": "relationships", "column": "customer_id", "to": "customers", "field": "id"}
    ]
    assert orders["schema"][0]["quality"] == [
        {
            "type": "sql",
            "query": "SELECT COUNT(*) FROM {object} WHERE NOT (total < 1000000 OR qty = 1)",
            "mustBe": 0,
            "description": "CHECK constraint orders_total_cap",
            "name": "orders_total_cap",
        }
    ]
    code, out, err = run(capsys, *args, "--exclude", "cust*")
    assert code == 0 and "name: orders" in out and "name: customers" not in out
    assert "warning: shop.orders: foreign key (id, qty) -> lots spans several columns; not imported" in err
