"""Pure pieces: the YAML emitter, adapter type mapping and rule extraction from contracts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dativo_ingest.config import AssetDefinition, SchemaField
from dativo_ingest.dbt.emit import dump_yaml, scalar
from dativo_ingest.dbt.registry import latest_contracts
from dativo_ingest.dbt.rules import contract_rules
from dativo_ingest.dbt.types import ADAPTERS, sql_type
from dativo_ingest.errors import ConfigError, DbtError
from dativo_ingest.odcs.types import DATIVO_TYPES

SPECS = Path(__file__).parent / "fixtures" / "specs"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "yes",
            "No",
            "null",
            "~",
            "1.0.0",
            "v3.0.2",
            "a: b",
            "#x",
            "- y",
            "ref('m')",
            "3e5",
            "0x1F",
            "",
            " lead",
            "trail ",
            "multi\nline",
            "tab\there",
            "ümlaut",
            "x -",
            "@at",
            "*star",
            "&anchor",
        ]
    ),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=10), documents, max_size=5))
def test_emitted_yaml_reads_back_equal(data: dict) -> None:
    assert yaml.safe_load(dump_yaml(data)) == (data or None)


def test_scalars_that_yaml_would_reinterpret_are_quoted() -> None:
    assert scalar("1.0.0") == '"1.0.0"' and scalar("yes") == '"yes"' and scalar("on") == '"on"'
    assert scalar("data-team@company.com") == "data-team@company.com"
    assert scalar("ref('x')") == "\"ref('x')\""
    assert (
        dump_yaml({"a": [{"b": 1, "c": []}], "d": {}}, head="# h\n")
        == "# h\na:\n  - b: 1\n    c: []\nd: {}\n"
    )


TYPE_CASES = {
    ("long", None, "duckdb"): "bigint",
    ("timestamp", None, "snowflake"): "timestamp_tz",
    ("timestamp_ntz", None, "bigquery"): "datetime",
    ("decimal", "DECIMAL(12,2)", "postgres"): "numeric(12,2)",
    ("decimal", None, "trino"): "decimal(38,9)",
    ("string", None, "databricks"): "string",
    ("object", None, "postgres"): "jsonb",
    (None, "NUMERIC(10,3)", "snowflake"): "decimal(10, 3)",
    (None, None, "duckdb"): "varchar",
}


@pytest.mark.parametrize(("logical", "physical", "adapter"), list(TYPE_CASES))
def test_type_mapping(logical: str | None, physical: str | None, adapter: str) -> None:
    field = SchemaField(name="c", type=logical, physicalType=physical)
    assert sql_type(field, adapter) == TYPE_CASES[(logical, physical, adapter)]


def test_every_dativo_type_maps_on_every_adapter() -> None:
    for adapter in ADAPTERS:
        for logical in sorted(DATIVO_TYPES):
            assert sql_type(SchemaField(name="c", type=logical), adapter)
    array = SchemaField(name="c", type="array", items={"name": "i", "type": "long"})
    assert [sql_type(array, a) for a in ("duckdb", "bigquery", "trino")] == [
        "bigint[]",
        "array<int64>",
        "array(bigint)",
    ]
    with pytest.raises(DbtError, match="unsupported adapter"):
        sql_type(SchemaField(name="c", type="string"), "oracle")


def test_rules_from_flags_options_quality_and_expectations() -> None:
    orders, customers = latest_contracts(SPECS)[1], latest_contracts(SPECS)[0]
    kinds = [(r.kind, r.column) for r in contract_rules(orders).rules]
    assert kinds[:2] == [("not_null", "order_id"), ("unique", "order_id")]
    assert ("range", "amount") in kinds and ("length", "notes") in kinds and ("sql", None) in kinds
    assert ("relationships", "customer_id") in kinds and ("range", "quantity") in kinds
    customer_kinds = [(r.kind, r.column) for r in contract_rules(customers).rules]
    assert ("regex", "country") in customer_kinds and ("row_count", None) in customer_kinds
    assert customer_kinds.count(("unique", "customer_id")) == 1  # primary key -> unique once


def test_rules_deduplicate_and_report_undeclared_columns(stripe_contract_path: Path) -> None:
    asset = AssetDefinition.from_yaml(stripe_contract_path)
    ruleset = contract_rules(asset)
    assert [(r.kind, r.column) for r in ruleset.rules].count(("not_null", "id")) == 1
    assert any("'status' is not declared" in s for s in ruleset.skipped)
    quality = AssetDefinition(
        schema=[
            {
                "name": "n",
                "type": "integer",
                "quality": [
                    {"rule": "nullCheck", "mustBe": 0},
                    {"rule": "validValues", "validValues": [1, 2]},
                    {"type": "text", "description": "prose only"},
                ],
            }
        ]
    )
    assert [(r.kind, r.arguments.get("values")) for r in contract_rules(quality).rules] == [
        ("not_null", None),
        ("accepted_values", (1, 2)),
    ]


def test_registry_walk_takes_latest_version_and_rejects_missing_folder(tmp_path: Path) -> None:
    assert [(a.object, a.version) for a in latest_contracts(SPECS)] == [
        ("customers", "1.2.0"),
        ("orders", "2.0.0"),
    ]
    with pytest.raises(ConfigError, match="specs folder not found"):
        latest_contracts(tmp_path / "nope")
