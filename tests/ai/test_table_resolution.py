"""SQL table references resolve to exactly one contract, or are refused as ambiguous (never first-wins)."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from tests.ai.conftest import make_asset


def _table(sql_name: str) -> exp.Table:
    return sqlglot.parse_one(f"SELECT 1 FROM {sql_name}", read="duckdb").find(exp.Table)


def test_a_default_iceberg_name_two_contracts_share_is_ambiguous(registry, store) -> None:
    from dativo_ingest.context.catalog import Catalog

    fields = [{"name": "id", "type": "string"}]
    registry.save_contract(contract=make_asset("a", "b_c", fields, name="first"), author="t@example.com")
    registry.save_contract(contract=make_asset("a_b", "c", fields, name="second"), author="t@example.com")
    registry.save_contract(contract=make_asset("shop", "orders", fields), author="t@example.com")
    catalog = Catalog(registry, store)
    catalog.sync()
    assert "ambiguous" in catalog.resolve_table(_table("bronze.a_b_c"))
    assert catalog.resolve_table(_table("bronze.shop_orders")).object_name == "orders"
    assert catalog.resolve_table(_table("bronze.nothing_here")) is None
