"""Contracts with several schema objects: one source table, staging model and model YAML per object,
proven by a strict real `dbt parse` of a project generated from the official ODCS AdventureWorks example."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_ingest.config import AssetDefinition
from dativo_ingest.dbt_integration import DBTGenerator, ProjectConfig
from dativo_ingest.errors import DbtError
from tests.conftest import reference_dir
from tests.dbt.dbt_runner import run_dbt

TWO_OBJECTS = {
    "apiVersion": "v3.0.2",
    "kind": "DataContract",
    "id": "shop-sales",
    "version": "1.0.0",
    "status": "active",
    "schema": [
        {
            "name": "orders",
            "description": "One row per order",
            "properties": [
                {"name": "order_id", "logicalType": "integer", "primaryKey": True},
                {"name": "status", "logicalType": "string", "required": True},
            ],
        },
        {
            "name": "refunds",
            "properties": [
                {"name": "refund_id", "logicalType": "integer", "required": True, "unique": True},
                {"name": "order_id", "logicalType": "integer"},
            ],
        },
    ],
    "customProperties": [
        {"property": "dativo.source_type", "value": "shop"},
        {
            "property": "dativo.data_quality",
            "value": {"expectations": [{"type": "not_null", "column": "order_id"}]},
        },
    ],
}


@pytest.fixture(scope="module")
def adventureworks() -> AssetDefinition:
    folder = reference_dir("odcs", "examples", "all")
    return AssetDefinition.from_yaml(folder / "postgresql-adventureworks-contract.odcs.yaml")


def test_every_schema_object_becomes_a_source_table_and_a_model(adventureworks: AssetDefinition) -> None:
    generator = DBTGenerator()
    names = [o.name for o in adventureworks.objects]
    tables = generator.generate_source_yaml(adventureworks)["sources"][0]["tables"]
    assert len(names) == 68 and [t["name"] for t in tables] == sorted(names)
    employee = next(t for t in tables if t["name"] == "employee")
    assert employee["description"].startswith("Employee information")
    assert [c["name"] for c in employee["columns"]] == [p.name for p in adventureworks.objects[1].properties]
    assert employee["config"]["meta"]["contract_id"] == adventureworks.id
    models = generator.generate_model_yaml(adventureworks)["models"]
    assert [m["name"] for m in models] == sorted(f"stg_contract__{n}" for n in names)
    assert generator.warnings == []


def test_expectations_stay_on_the_primary_object_and_each_object_keeps_its_tests() -> None:
    asset = AssetDefinition.from_dict(TWO_OBJECTS)
    generator = DBTGenerator()
    orders, refunds = generator.generate_source_yaml(asset)["sources"][0]["tables"]
    assert orders["description"] == "One row per order"
    assert orders["columns"][0]["data_tests"] == ["not_null", "unique"]
    assert refunds["columns"][0]["data_tests"] == ["not_null", "unique"]
    assert "data_tests" not in refunds["columns"][1]  # the not_null expectation is the primary object's
    assert generator.warnings == []


def test_single_model_names_and_sql_need_one_object() -> None:
    asset = AssetDefinition.from_dict(TWO_OBJECTS)
    generator = DBTGenerator()
    with pytest.raises(DbtError, match="2 schema objects, one staging model each; model_name 'stg_x'"):
        generator.generate_model_yaml(asset, model_name="stg_x")
    with pytest.raises(DbtError, match="pass object_name= to pick one"):
        generator.generate_staging_sql(asset)
    assert "from {{ source('raw_shop', 'refunds') }}" in generator.generate_staging_sql(
        asset, object_name="refunds"
    )
    with pytest.raises(DbtError, match=r"no schema object 'nope' \(objects: orders, refunds\)"):
        generator.generate_staging_sql(asset, object_name="nope")
    exposure = generator.generate_exposure_yaml(asset)["exposures"][0]
    assert exposure["depends_on"] == ["ref('stg_shop__orders')", "ref('stg_shop__refunds')"]


def test_save_staging_model_writes_one_model_per_object(tmp_path: Path) -> None:
    paths = DBTGenerator(tmp_path).save_staging_model(AssetDefinition.from_dict(TWO_OBJECTS))
    assert [p.name for p in paths[:2]] == ["stg_shop__orders.sql", "stg_shop__refunds.sql"]
    models = paths[2].read_text()
    assert "name: stg_shop__orders" in models and "name: stg_shop__refunds" in models


@pytest.mark.dbt
def test_adventureworks_project_parses_strictly_and_regenerates_identically(
    adventureworks: AssetDefinition, tmp_path: Path
) -> None:
    out = tmp_path / "dbt"
    config = ProjectConfig(project_name="aw", input="duckdb")
    first = DBTGenerator(out).generate_project([adventureworks], config)
    staged = sorted((out / "models" / "staging" / "contract").glob("stg_*.sql"))
    assert len(staged) == 68 and first.warnings == []
    run = run_dbt(out, "parse")
    assert run.success, run.exception
    assert run.deprecations == [] and [w for w in run.warnings if "Deprecat" in w] == []
    again = DBTGenerator(out).generate_project([adventureworks], config)
    assert again.written == [] and again.removed == [] and len(again.unchanged) == len(first.written)
