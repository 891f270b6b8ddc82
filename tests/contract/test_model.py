"""The canonical contract model: both dialects, keyword construction, views, ODCS conversion."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from dativo_ingest.config import AssetDefinition, SchemaField
from dativo_ingest.errors import ContractValidationError
from dativo_ingest.yamlio import load_file
from tests.conftest import reference_dir

SCHEMAS = Path(__file__).resolve().parents[2] / "src" / "dativo_ingest" / "odcs" / "schemas"


def official_errors(document: dict, version: str = "3.0.2") -> list[str]:
    schema = json.loads((SCHEMAS / f"odcs-json-schema-v{version}.json").read_text())
    return [e.message for e in jsonschema.Draft201909Validator(schema).iter_errors(document)]


def test_spec_contract_loads_with_its_sections(stripe_contract_path: Path) -> None:
    asset = AssetDefinition.from_yaml(stripe_contract_path)
    assert (asset.source_type, asset.object_name, asset.version) == ("stripe", "customers", "1.0.0")
    assert asset.owner == "data-team@company.com"
    assert asset.team.roles[0].role == "Data Steward"
    assert asset.team.roles[0].username == "steward@company.com"
    assert [f.name for f in asset.fields] == ["id", "email", "created_at"]
    assert asset.get_field("email").classification == "PII"
    assert asset.classifications == ["PII", "SENSITIVE"]
    assert asset.retention_days == 90
    assert asset.compliance.user_consent_required is True
    assert [e.type for e in asset.expectations] == ["not_null", "unique", "accepted_values"]
    assert asset.description.purpose.startswith("Customer data")


def test_spec_contract_converts_to_valid_odcs_and_back_unchanged(stripe_contract_path: Path) -> None:
    asset = AssetDefinition.from_yaml(stripe_contract_path)
    document = asset.to_odcs()
    assert official_errors(document) == []
    assert document["team"][0] == {"username": "data-team@company.com", "role": "owner"}
    assert {"property": "retention", "value": 90, "unit": "d"} in document["slaProperties"]
    email = document["schema"][0]["properties"][1]
    assert email["classification"] == "PII"
    created = document["schema"][0]["properties"][2]
    assert (created["logicalType"], created["physicalType"]) == ("date", "timestamp")
    rules = [q["rule"] for q in document["schema"][0]["properties"][0]["quality"]]
    assert rules == ["nullCheck", "duplicateCount"]
    back = AssetDefinition.from_dict(document)
    assert back == asset
    assert back.to_dict() == asset.to_dict()


def test_conversion_to_odcs_31_validates_and_round_trips(stripe_contract_path: Path) -> None:
    asset = AssetDefinition.from_yaml(stripe_contract_path)
    document = asset.to_odcs("v3.1.0")
    assert official_errors(document, "3.1.0") == []
    assert document["team"]["members"][0]["role"] == "owner"
    back = AssetDefinition.from_dict(document)
    back.api_version = asset.api_version
    assert back == asset


def test_authoring_round_trip_is_identity(stripe_contract_path: Path) -> None:
    raw = load_file(stripe_contract_path)
    asset = AssetDefinition.from_dict(raw)
    assert AssetDefinition.from_dict(asset.to_dict()) == asset
    assert asset.to_dict()["schema"][0] == {
        "name": "id",
        "type": "string",
        "description": "Unique customer identifier",
        "required": True,
        "unique": True,
    }


def test_conversion_never_mutates_the_model(stripe_contract_path: Path) -> None:
    asset = AssetDefinition.from_yaml(stripe_contract_path)
    before = copy.deepcopy(asset.model_dump())
    asset.to_odcs()
    asset.to_dict()
    assert asset.model_dump() == before


@pytest.mark.parametrize("version", ["v3.0.2", "v3.1.0", "v3.2.0"])
def test_every_official_example_loads_converts_and_round_trips(version: str) -> None:
    examples = sorted(reference_dir("odcs", "examples").rglob("*.yaml"))
    assert examples
    for example in examples:
        asset = AssetDefinition.from_yaml(example)
        assert asset.objects, example
        document = asset.to_odcs(version)
        assert official_errors(document, version[1:]) == [], example
        assert AssetDefinition.from_dict(asset.to_dict()) == asset, example
        same_family = asset.to_odcs(asset.api_version) if asset.api_version.startswith("v3.0") else document
        back = AssetDefinition.from_dict(same_family)
        assert back == asset, example


def test_official_examples_survive_a_trip_through_odcs_31() -> None:
    """v3.0 quality rules v3.1 has no metric for come back by name; library rules lose nothing either."""
    for example in sorted(reference_dir("odcs", "examples").rglob("*.yaml")):
        asset = AssetDefinition.from_yaml(example)
        back = AssetDefinition.from_dict(asset.to_odcs("v3.1.0"))
        back.api_version = asset.api_version
        before, after = asset.to_odcs("v3.0.2"), back.to_odcs("v3.0.2")
        assert _rules(after) == [_with_implied_operator(r) for r in _rules(before)], example


def _rules(document: dict) -> list[dict]:
    objects = document.get("schema") or []
    return [q for o in objects for p in [o, *(o.get("properties") or [])] for q in p.get("quality") or []]


def _with_implied_operator(rule: dict) -> dict:
    """v3.1 needs an operator: a v3.0 null/duplicate check without one comes back with ``mustBe: 0``."""
    known = rule.get("rule") in ("nullCheck", "duplicateCount", "validValues", "rowCount", "missingCheck")
    has_operator = any(k.startswith(("mustBe", "mustNot")) for k in rule)
    return {**rule, "mustBe": 0} if known and not has_operator else rule


def test_multi_object_contract_keeps_every_object() -> None:
    example = reference_dir("odcs", "examples", "all") / "postgresql-adventureworks-contract.odcs.yaml"
    asset = AssetDefinition.from_yaml(example)
    raw = load_file(example)
    assert [o.name for o in asset.objects] == [o["name"] for o in raw["schema"]]
    department_id = asset.objects[0].properties[0]
    assert (department_id.type, department_id.physical_type, department_id.primary_key) == (
        "number",
        "serial",
        True,
    )


def test_keyword_construction_from_the_spec() -> None:
    asset_v1 = AssetDefinition(
        version="1.0.0",
        schema=[
            {"name": "id", "type": "string", "required": True},
            {"name": "email", "type": "string", "required": True},
        ],
    )
    assert [f.name for f in asset_v1.schema] == ["id", "email"]
    assert all(isinstance(f, SchemaField) for f in asset_v1.fields)
    asset_v1.version = "1.1.0"
    asset_v1.schema = [*asset_v1.schema, {"name": "phone", "type": "string"}]
    assert asset_v1.version == "1.1.0"
    assert [f.name for f in asset_v1.fields] == ["id", "email", "phone"]


def test_keyword_construction_with_dict_sections() -> None:
    asset = AssetDefinition(
        version="2.0.0",
        source_type="stripe",
        object="charges",
        team={"owner": "owner@example.com", "roles": [{"name": "Steward", "email": "s@example.com"}]},
        compliance={"classification": "PII", "retention_days": 30},
        description={"purpose": "Charges"},
        schema=[{"name": "amount", "type": "BIGINT"}],
    )
    assert asset.team.roles[0].role == "Steward"
    assert asset.compliance.classification == ["PII"]
    assert asset.fields[0].type == "long"
    assert asset.objects[0].name == "charges"


def test_nested_object_and_array_properties_round_trip() -> None:
    asset = AssetDefinition(
        version="1.0.0",
        source_type="shop",
        object="orders",
        team={"owner": "o@example.com"},
        schema=[
            {"name": "id", "type": "long", "required": True},
            {
                "name": "address",
                "type": "object",
                "properties": [
                    {"name": "city", "type": "string", "classification": "PII"},
                    {"name": "geo", "type": "object", "properties": [{"name": "lat", "type": "double"}]},
                ],
            },
            {
                "name": "lines",
                "type": "array",
                "items": {
                    "name": "line",
                    "type": "object",
                    "properties": [{"name": "sku", "type": "string"}],
                },
            },
        ],
    )
    paths = [p for p, _ in asset.iter_fields()]
    assert paths == [
        "id",
        "address",
        "address.city",
        "address.geo",
        "address.geo.lat",
        "lines",
        "lines[].line",
        "lines[].line.sku",
    ]
    document = asset.to_odcs()
    assert official_errors(document) == []
    geo = document["schema"][0]["properties"][1]["properties"][1]
    assert geo["properties"][0] == {"name": "lat", "logicalType": "number", "physicalType": "double"}
    assert AssetDefinition.from_dict(document) == asset
    assert asset.classifications == ["PII"]


def test_unknown_field_keys_survive_odcs_in_custom_properties() -> None:
    asset = AssetDefinition(version="1.0.0", schema=[{"name": "id", "type": "string", "source_column": "ID"}])
    document = asset.to_odcs()
    assert official_errors(document) == []
    assert {"property": "dativo.source_column", "value": "ID"} in document["schema"][0]["properties"][0][
        "customProperties"
    ]
    assert AssetDefinition.from_dict(document).fields[0].model_extra == {"source_column": "ID"}


@pytest.mark.parametrize("version", ["v3.0.2", "v3.1.0", "v3.2.0"])
def test_keys_of_the_team_and_its_members_odcs_has_no_field_for_survive(version: str) -> None:
    team = {
        "owner": "data@x.com",
        "oncall": "pager@x.com",
        "roles": [
            {"name": "Steward", "email": "ann@x.com", "slack": "#data"},
            {"name": "Analyst", "email": "bo@x.com"},
        ],
    }
    asset = AssetDefinition(version="1.0.0", team=team, schema=[{"name": "id", "type": "string"}])
    document = asset.to_odcs(version)
    assert official_errors(document, version.removeprefix("v")) == []
    back = AssetDefinition.from_dict(document)
    back.api_version = asset.api_version
    assert back == asset
    assert back.team.model_extra == {"oncall": "pager@x.com"}
    assert back.team.roles[0].model_extra == {"slack": "#data"} and not back.team.roles[1].model_extra


def test_unknown_top_level_key_is_a_clear_error() -> None:
    with pytest.raises(ContractValidationError) as caught:
        AssetDefinition.from_dict({"version": "1.0.0", "schema": [], "colour": "blue"}, source="c.yaml")
    assert str(caught.value) == "c.yaml colour: unknown top-level key 'colour'"


def test_wrong_value_type_names_the_field() -> None:
    with pytest.raises(ContractValidationError) as caught:
        AssetDefinition.from_dict(
            {"version": "1.0.0", "schema": [{"name": "id", "type": "string", "required": "maybe"}]}
        )
    assert caught.value.field == "schema[0].required"


def test_keyword_construction_errors_name_the_user_path() -> None:
    with pytest.raises(ContractValidationError) as caught:
        AssetDefinition(version="1.0.0", schema=[{"name": "id", "type": "string", "required": "maybe"}])
    assert caught.value.field == "schema[0].required"


def test_odcs_value_errors_name_the_odcs_path() -> None:
    document = {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "x",
        "version": "1.0.0",
        "status": "active",
        "schema": [
            {"name": "t", "properties": [{"name": "a", "logicalType": "string", "required": "maybe"}]}
        ],
    }
    with pytest.raises(ContractValidationError) as caught:
        AssetDefinition.from_dict(document, source="x.yaml")
    assert caught.value.field == "schema[0].properties[0].required" and caught.value.path == "x.yaml"


def test_non_mapping_document_is_refused() -> None:
    with pytest.raises(ContractValidationError, match="must be a mapping"):
        AssetDefinition.from_dict(["not", "a", "contract"])  # type: ignore[arg-type]


def test_to_yaml_writes_deterministically(tmp_path: Path, stripe_contract_path: Path) -> None:
    asset = AssetDefinition.from_yaml(stripe_contract_path)
    first = asset.to_yaml(tmp_path / "out.yaml")
    assert (
        (tmp_path / "out.yaml").read_text()
        == first
        == AssetDefinition.from_yaml(tmp_path / "out.yaml").to_yaml()
    )


def test_compliance_columns_must_be_declared_fields() -> None:
    asset = AssetDefinition(
        version="1.0.0",
        schema=[{"name": "id", "type": "string"}, {"name": "ts", "type": "timestamp"}],
        compliance={"event_time_column": "ts", "consent_column": "opt_in"},
    )
    assert asset.compliance_column("event_time_column") == "ts"
    assert asset.compliance_column("retention_column") is None
    with pytest.raises(ContractValidationError, match=r"compliance\.consent_column: names 'opt_in'"):
        asset.compliance_column("consent_column")
