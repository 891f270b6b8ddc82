"""Each source names its own lineage node: files and APIs by their contract, databases by their table."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from dativo_ingest.ingest.sources import SourceContext, SourceNode, build_source


def context(tmp_path: Path) -> SourceContext:
    return SourceContext(tmp_path, {"id": pa.string()})


def test_file_sources_take_the_contract_names_and_their_common_path(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    for name in ("a.csv", "b.csv"):
        (tmp_path / "d" / name).write_text("id\n1\n", encoding="utf-8")
    source = build_source("csv", {"path": "d/*.csv"}, context(tmp_path))
    node = source.lineage_node("stripe", "customers")
    assert node == SourceNode("stripe", "customers", {"path": source.dataset()[1]})
    # a contract without a source_type: the node is named by the source's type
    assert source.lineage_node(None, "customers").source_type == "csv"


def test_an_api_is_located_by_its_url_without_credentials(tmp_path: Path) -> None:
    source = build_source(
        "http", {"url": "https://user:secret@api.example.com/v1/customers"}, context(tmp_path)
    )
    node = source.lineage_node("stripe", "customers")
    assert node == SourceNode("stripe", "customers", {"url": "https://api.example.com/v1/customers"})


def test_database_sources_are_named_by_their_table_whatever_the_contract_says(tmp_path: Path) -> None:
    postgres = build_source(
        "postgres",
        {"url": "postgresql://u:p@db.internal:6543/shop", "table": "orders", "schema": "sales"},
        context(tmp_path),
    )
    assert postgres.lineage_node("stripe", "customers") == SourceNode(
        "postgres",
        "orders",
        {"host": "db.internal", "port": 6543, "database": "shop", "table": "orders", "schema": "sales"},
    )
    mysql = build_source(
        "mysql", {"url": "mysql://root@localhost/shop", "table": "orders"}, context(tmp_path)
    )
    assert mysql.lineage_node("shop", "orders") == SourceNode(
        "mysql", "orders", {"host": "localhost", "port": 3306, "database": "shop", "table": "orders"}
    )
