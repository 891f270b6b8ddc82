"""The generated DuckDB profile reads the local Iceberg warehouse (pyiceberg SQL catalog) through
dbt-duckdb's iceberg plugin: `dbt build` passes with retention and consent applied."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dativo_ingest.dbt.registry import latest_contracts
from dativo_ingest.dbt_integration import DBTGenerator, ProjectConfig
from tests.dbt.dbt_runner import run_dbt
from tests.dbt.sample_data import CUSTOMERS

pytestmark = pytest.mark.dbt
SPECS = Path(__file__).parent / "fixtures" / "specs"


def test_build_reads_iceberg_tables(tmp_path: Path) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    catalog = SqlCatalog("dativo", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}")
    catalog.create_namespace("bronze")
    data = duckdb.sql(CUSTOMERS.replace("now()", "cast(now() as timestamp)")).arrow()
    data = data.read_all() if hasattr(data, "read_all") else data
    catalog.create_table("bronze.shop_customers", schema=data.schema).append(data)
    out = tmp_path / "dbt"
    config = ProjectConfig(project_name="ice", input="iceberg", warehouse=warehouse)
    DBTGenerator(out).generate_project(latest_contracts(SPECS)[:1], config)
    run = run_dbt(out, "build")
    assert run.success, (run.exception, run.failed())
    assert run.statuses["model.ice.stg_shop__customers"] == "success" and run.deprecations == []
    with duckdb.connect(str(out / "dativo.duckdb")) as con:
        assert con.execute("select count(*) from main.stg_shop__customers").fetchone() == (3,)
