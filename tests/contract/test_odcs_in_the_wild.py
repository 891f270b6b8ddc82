"""ODCS as written in the wild: contracts without a schema, ODCS v3.2.0, and v3.1 rules through every path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from dativo_ingest.config import AssetDefinition
from dativo_ingest.errors import ContractValidationError, DativoError
from dativo_ingest.odcs.quality import AcceptedValues, contract_checks
from dativo_ingest.odcs.validation import validate_asset, validate_file
from dativo_ingest.odcs.versions import SUPPORTED_VERSIONS, schema_version

SCHEMAS = Path(__file__).resolve().parents[2] / "src" / "dativo_ingest" / "odcs" / "schemas"


def official_errors(document: dict[str, Any], version: str) -> list[str]:
    schema = json.loads((SCHEMAS / f"odcs-json-schema-{version}.json").read_text())
    return [
        f"{list(e.absolute_path)}: {e.message}"
        for e in jsonschema.Draft201909Validator(schema).iter_errors(document)
    ]


TEMPLATE: dict[str, Any] = {
    "apiVersion": "v3.1.0",
    "kind": "DataContract",
    "id": "orders-template",
    "name": "orders",
    "version": "0.1.0",
    "status": "draft",
    "team": {"members": [{"username": "ann@example.com", "role": "owner"}]},
}

#: A dativo-governed contract (it names a source_type) still being written: no fields yet.
GOVERNED: dict[str, Any] = {
    "apiVersion": "v3.0.2",
    "kind": "DataContract",
    "id": "orders-template",
    "version": "0.1.0",
    "status": "draft",
    "source_type": "shop",
    "object": "orders",
    "team": {"owner": "ann@example.com"},
    "schema": [],
}

ICEBERG = {
    "server": "lake",
    "type": "iceberg",
    "catalog": "main",
    "catalogUrl": "https://catalog.example.com/api",
    "namespace": "sales",
    "warehouse": "s3://bucket/warehouse/",
}

V32: dict[str, Any] = {
    "apiVersion": "v3.2.0",
    "kind": "DataContract",
    "id": "sales-orders",
    "name": "orders",
    "version": "1.2.0",
    "status": "active",
    "context": {"instructions": "Revenue questions use amount, never list price."},
    "team": {"name": "sales", "members": [{"username": "ann@example.com", "role": "owner"}]},
    "servers": [
        ICEBERG,
        {
            "server": "pg",
            "type": "postgres",
            "host": "db",
            "port": "${DB_PORT}",
            "database": "d",
            "schema": "s",
        },
    ],
    "schema": [
        {
            "name": "orders",
            "physicalType": "table",
            "context": "one row per order",
            "synonyms": [{"synonym": "purchases"}],
            "properties": [
                {"name": "id", "logicalType": "string", "required": True, "semanticType": "dimension"},
                {
                    "name": "status",
                    "logicalType": "string",
                    "enum": [{"value": "open", "label": "Open"}, {"value": "closed"}],
                },
                {"name": "channel", "logicalType": "string", "enum": [{"value": "web"}, {"value": "shop"}]},
                {"name": "legacy_code", "logicalType": "string", "deprecated": True},
                {"name": "amount", "logicalType": "number", "physicalType": "decimal(12,2)"},
            ],
        }
    ],
}


# ----- contracts without schema objects ------------------------------------------------------------


@pytest.mark.parametrize("schema", [None, [], [{"name": "orders"}]], ids=["no-schema", "empty", "no-fields"])
def test_plain_odcs_without_schema_objects_is_a_warning(schema: list[dict[str, Any]] | None) -> None:
    document = copy.deepcopy(TEMPLATE)
    if schema is not None:
        document["schema"] = schema
    asset = AssetDefinition.from_dict(document)
    report = validate_asset(asset)
    assert report.is_valid, report.errors
    assert [(w.rule, w.path) for w in report.warnings] == [("schema_not_empty", "schema")]
    assert not validate_asset(asset, strict=True).is_valid


def test_plain_odcs_template_file_loads_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "template.odcs.yaml"
    path.write_text(yaml.safe_dump(TEMPLATE))
    asset, report = validate_file(path)
    assert asset is not None and report.is_valid
    assert [w.rule for w in report.warnings] == ["schema_not_empty"]


def test_dativo_governed_contract_without_fields_is_an_error() -> None:
    report = validate_asset(AssetDefinition.from_dict(GOVERNED))
    assert ("error", "schema_not_empty", "schema") in [(i.severity, i.rule, i.path) for i in report.issues]


def test_schema_less_contract_round_trips_through_every_version() -> None:
    asset = AssetDefinition.from_dict(TEMPLATE)
    for version in ("v3.0.2", "v3.1.0", "v3.2.0"):
        document = asset.to_odcs(version)
        assert official_errors(document, version) == []
        back = AssetDefinition.from_dict(document)
        back.api_version = asset.api_version
        assert back == asset


def _one_line(exc: DativoError) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


def test_dbt_generation_refuses_a_contract_without_fields(tmp_path: Path) -> None:
    from dativo_ingest.dbt_integration import DBTGenerator

    asset = AssetDefinition.from_dict(TEMPLATE)
    generator = DBTGenerator(tmp_path / "dbt")
    for generate in (generator.generate_source_yaml, generator.generate_model_yaml):
        with pytest.raises(ContractValidationError) as caught:
            generate(asset)
        assert "contract 'orders-template' declares no schema fields; dbt generation" in _one_line(
            caught.value
        )


def test_registry_save_refuses_a_contract_without_fields(tmp_path: Path) -> None:
    from dativo_ingest.registry import ContractRegistry

    asset = AssetDefinition.from_dict(GOVERNED)
    with pytest.raises(ContractValidationError) as caught:
        ContractRegistry(tmp_path / "specs").save(asset, validate=False)
    assert "contract 'orders-template' declares no schema fields" in _one_line(caught.value)
    assert not (tmp_path / "specs" / "shop").exists()


def test_ingestion_refuses_a_contract_without_fields(workspace: Path) -> None:
    from dativo_ingest.ingest import load_job, run_job
    from tests.ingest.helpers import good_rows, write_contract, write_csv, write_job

    write_contract(workspace, TEMPLATE)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 2))
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})
    with pytest.raises(ContractValidationError) as caught:
        run_job(load_job(job))
    assert "contract 'orders-template' declares no schema fields; ingestion needs" in _one_line(caught.value)


# ----- ODCS v3.2.0 --------------------------------------------------------------------------------


def test_v320_is_supported_and_checked_against_its_own_schema() -> None:
    assert "v3.2.0" in SUPPORTED_VERSIONS
    assert schema_version("v3.2.0") == "v3.2.0"
    assert (schema_version("v3.1.0"), schema_version("v3.0.1")) == ("v3.1.0", "v3.0.2")
    assert official_errors(V32, "v3.2.0") == []
    assert official_errors(V32, "v3.1.0") != []  # iceberg, context, enum entries are new in v3.2.0


def test_v320_document_with_an_iceberg_server_loads_validates_and_round_trips() -> None:
    asset = AssetDefinition.from_dict(V32)
    assert asset.servers[0] == ICEBERG and asset.context == V32["context"]
    report = validate_asset(asset)
    assert report.is_valid and report.warnings == [], report.issues
    document = asset.to_odcs("v3.2.0")
    assert official_errors(document, "v3.2.0") == []
    assert document["servers"] == V32["servers"] and document["context"] == V32["context"]
    written = document["schema"][0]
    assert (written["context"], written["synonyms"]) == ("one row per order", [{"synonym": "purchases"}])
    assert written["properties"][0]["semanticType"] == "dimension"
    assert written["properties"][1]["enum"] == V32["schema"][0]["properties"][1]["enum"]
    assert written["properties"][2]["enum"] == [{"value": "web"}, {"value": "shop"}]
    assert written["properties"][3]["deprecated"] is True
    assert AssetDefinition.from_dict(document) == asset


def test_v320_enum_entries_are_accepted_values() -> None:
    checks = contract_checks(AssetDefinition.from_dict(V32)).checks
    accepted = {c.column: c.values for c in checks if isinstance(c, AcceptedValues)}
    assert accepted == {"status": ("open", "closed"), "channel": ("web", "shop")}


@pytest.mark.parametrize("older", ["v3.0.2", "v3.1.0"])
def test_v320_contract_converts_to_older_versions_and_back_losslessly(older: str) -> None:
    asset = AssetDefinition.from_dict(V32)
    document = asset.to_odcs(older)
    assert official_errors(document, older) == []
    assert ICEBERG not in document.get("servers", [])  # no iceberg server type before v3.2.0
    carried = {c["property"]: c["value"] for c in document["customProperties"]}["dativo.servers"]
    assert {"index": 0, "server": ICEBERG} in carried
    back = AssetDefinition.from_dict(document)
    back.api_version = asset.api_version
    assert back == asset
    assert back.to_odcs("v3.2.0") == asset.to_odcs("v3.2.0")


def test_dativo_contract_with_an_iceberg_server_converts_to_v320() -> None:
    asset = AssetDefinition(
        version="1.0.0",
        source_type="shop",
        object="orders",
        team={"owner": "ann@example.com"},
        servers=[ICEBERG],
        schema=[{"name": "id", "type": "string"}, {"name": "state", "type": "string", "enum": ["a", "b"]}],
    )
    document = asset.to_odcs("v3.2.0")
    assert official_errors(document, "v3.2.0") == []
    assert document["servers"] == [ICEBERG]
    assert document["schema"][0]["properties"][1]["enum"] == [{"value": "a"}, {"value": "b"}]
    back = AssetDefinition.from_dict(document)
    back.api_version = asset.api_version
    assert back == asset


def test_an_invalid_server_is_not_hidden_by_conversion() -> None:
    asset = AssetDefinition.from_dict({**V32, "servers": [{"server": "lake", "type": "iceberg"}]})
    report = validate_asset(asset)
    assert not report.is_valid
    assert any(i.rule == "official_schema" and i.path.startswith("servers") for i in report.errors)


# ----- a v3.1 library rule with arguments.validValues through every path ------------------------------

VALID_VALUES_RULE = {"type": "library", "metric": "invalidValues", "arguments": {"validValues": ["a", "b"]}}
RULE_31: dict[str, Any] = {
    "apiVersion": "v3.1.0",
    "kind": "DataContract",
    "id": "codes",
    "version": "1.0.0",
    "status": "active",
    "schema": [
        {
            "name": "codes",
            "properties": [
                {"name": "code", "logicalType": "string", "quality": [{**VALID_VALUES_RULE, "mustBe": 0}]}
            ],
        }
    ],
}
#: 3.1 -> canonical -> 3.0.2 -> canonical -> 3.1 -> 3.2 -> canonical
PATH = ("v3.0.2", "v3.1.0", "v3.2.0")


def _trip(steps: int) -> list[tuple[str, AssetDefinition]]:
    """The canonical model after each step of :data:`PATH`, with the document each came from."""
    asset = AssetDefinition.from_dict(RULE_31)
    models = [("v3.1.0", asset)]
    for version in PATH[:steps]:
        document = asset.to_odcs(version)
        assert official_errors(document, version) == [], version
        asset = AssetDefinition.from_dict(document)
        asset.api_version = RULE_31["apiVersion"]
        models.append((version, asset))
    return models


@pytest.mark.parametrize("steps", range(len(PATH) + 1), ids=["canonical", *PATH])
def test_v31_valid_values_rule_survives_every_conversion_path(steps: int) -> None:
    pristine = copy.deepcopy(RULE_31)
    start = AssetDefinition.from_dict(RULE_31)
    version, asset = _trip(steps)[-1]
    assert asset == start, version
    checks = [c for c in contract_checks(asset).checks if isinstance(c, AcceptedValues)]
    assert [(c.column, c.values) for c in checks] == [("code", ("a", "b"))]
    written = asset.to_odcs("v3.1.0")["schema"][0]["properties"][0]["quality"]
    assert written == [{**VALID_VALUES_RULE, "mustBe": 0}]
    assert asset.to_odcs("v3.2.0")["schema"][0]["properties"][0]["quality"] == written
    assert pristine == RULE_31  # reading a document never changes it
