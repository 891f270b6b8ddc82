"""OpenLineage dataset names for each kind of source and target."""

from __future__ import annotations

from pathlib import Path

from dativo_ingest.lineage_graph.model import LineageNode
from dativo_ingest.lineage_graph.naming import DatasetName, dataset_name


def _source(source_type: str, obj: str, **connection: object) -> LineageNode:
    attrs = {"source_type": source_type, "object": obj, "connection": connection}
    return LineageNode(f"source://{source_type}/{obj}", "source", obj, attrs)


def test_database_sources() -> None:
    assert dataset_name(_source("postgres", "orders", host="pg", database="shop")) == DatasetName(
        "postgres://pg:5432", "shop.public.orders"
    )
    assert dataset_name(_source("mysql", "orders", host="my", port=3307, database="shop")) == DatasetName(
        "mysql://my:3307", "shop.orders"
    )


def test_file_object_store_and_api_sources(tmp_path: Path) -> None:
    csv = tmp_path / "in" / "orders.csv"
    assert dataset_name(_source("csv", "orders", path=str(csv))) == DatasetName("file", str(csv))
    assert dataset_name(_source("file", "x", path="s3://bucket/raw/x.parquet")) == DatasetName(
        "s3://bucket", "raw/x.parquet"
    )
    assert dataset_name(_source("stripe", "customers", base_url="https://api.stripe.com/v1")) == DatasetName(
        "https://api.stripe.com", "customers"
    )
    assert dataset_name(_source("hubspot", "contacts")) == DatasetName("hubspot://hubspot", "contacts")


def test_iceberg_targets_are_named_by_location(tmp_path: Path) -> None:
    attrs = {"target_type": "iceberg", "catalog": "bronze", "table": "t"}
    node = LineageNode("target://iceberg/bronze/t", "target", "bronze.t", attrs)
    assert dataset_name(node, tmp_path / "wh") == DatasetName("file", str(tmp_path / "wh" / "bronze" / "t"))
    located = LineageNode(node.id, "target", "bronze.t", {**attrs, "location": "s3://lake/wh/bronze.db/t"})
    assert dataset_name(located) == DatasetName("s3://lake", "wh/bronze.db/t")
