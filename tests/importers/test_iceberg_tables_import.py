"""A real pyiceberg table (nested struct, list, map, identifier fields, partition spec, sort order, docs)
imports as a contract that validates in every format and re-imports byte-identical."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg import types as it
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import SortField, SortOrder
from pyiceberg.transforms import DayTransform, IdentityTransform

from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from tests.importers.helpers import field, import_all_formats, run

SCHEMA = Schema(
    it.NestedField(1, "id", it.LongType(), required=True, doc="Event id"),
    it.NestedField(2, "country", it.StringType(), required=True),
    it.NestedField(3, "at", it.TimestamptzType(), required=False),
    it.NestedField(4, "amount", it.DecimalType(12, 2), required=False),
    it.NestedField(
        5,
        "address",
        it.StructType(
            it.NestedField(6, "city", it.StringType(), required=True, doc="City name"),
            it.NestedField(7, "zip", it.StringType(), required=False),
        ),
        required=False,
    ),
    it.NestedField(8, "tags", it.ListType(9, it.StringType(), element_required=True), required=False),
    it.NestedField(10, "attributes", it.MapType(11, it.StringType(), 12, it.LongType()), required=False),
    identifier_field_ids=[1],
)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    folder = tmp_path / "warehouse"
    catalog = load_catalog_for(CatalogConfig(), folder)
    catalog.create_namespace("bronze")
    catalog.create_table(  # time transforms are computed by pyiceberg-core on write: this one stays empty
        "bronze.daily",
        schema=SCHEMA,
        partition_spec=PartitionSpec(PartitionField(3, 1000, DayTransform(), "at_day")),
    )
    table = catalog.create_table(
        "bronze.events",
        schema=SCHEMA,
        partition_spec=PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "country")),
        sort_order=SortOrder(SortField(source_id=1, transform=IdentityTransform())),
        properties={"comment": "Raw events"},
    )
    arrow_schema = table.schema().as_arrow()
    columns = {"id": [1, 2, 3], "country": ["DE", "FR", "DE"]}
    table.append(
        pa.table(
            {f.name: pa.array(columns.get(f.name, [None] * 3), f.type) for f in arrow_schema}, arrow_schema
        )
    )
    return folder


def test_an_iceberg_table_becomes_a_contract(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = import_all_formats(capsys, tmp_path / "out", "--from", "iceberg", str(warehouse))
    doc = docs["bronze.events.yaml"]
    assert doc["servers"] == [
        {
            "server": "iceberg",
            "type": "iceberg",
            "catalog": "dativo",
            "catalogUrl": f"sqlite:///{warehouse / 'catalog.db'}",
            "warehouse": warehouse.as_uri(),
            "namespace": "bronze",
        }
    ]
    assert field(doc, "id") == {
        "name": "id",
        "type": "long",
        "physicalType": "long",
        "description": "Event id",
        "required": True,
        "unique": True,
        "primaryKey": True,
    }
    assert field(doc, "country")["partitioned"] is True and field(doc, "country")["partitionKeyPosition"] == 1
    assert field(doc, "at")["type"] == "timestamp"
    assert field(doc, "amount") == {"name": "amount", "type": "decimal", "physicalType": "decimal(12, 2)"}
    address = field(doc, "address")
    assert address["type"] == "object"
    assert address["properties"][0] == {
        "name": "city",
        "type": "string",
        "physicalType": "string",
        "description": "City name",
        "required": True,
    }
    assert field(doc, "tags")["items"] == {
        "name": "item",
        "type": "string",
        "physicalType": "string",
        "required": True,
    }
    assert field(doc, "attributes")["physicalType"] == "map<string, long>"
    assert doc["schema"][0]["description"] == "Raw events"
    custom = {c["property"]: c["value"] for c in doc["schema"][0]["customProperties"]}
    assert custom["dativo.partitionSpec"] == [
        {"source": "country", "transform": "identity", "name": "country"}
    ]
    daily = {c["property"]: c["value"] for c in docs["bronze.daily.yaml"]["schema"][0]["customProperties"]}
    assert daily["dativo.partitionSpec"] == [{"source": "at", "transform": "day", "name": "at_day"}]
    assert "partitioned" not in field(docs["bronze.daily.yaml"], "at")
    assert custom["dativo.sortOrder"] == [
        {"source": "id", "transform": "identity", "direction": "asc", "nullOrder": "nulls-first"}
    ]


def test_profiling_an_iceberg_table_reads_its_rows(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--from", "iceberg", str(warehouse), "--table", "events", "--profile")
    assert code == 0, err
    assert "observed_maximum: 3" in out


def test_a_folder_without_a_catalog_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--from", "iceberg", str(tmp_path), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "no Iceberg SQL catalog (catalog.db)" in err
    assert not (tmp_path / "catalog.db").exists() and not (tmp_path / "out").exists()
