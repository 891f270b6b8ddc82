"""Each validation rule, on a minimal valid contract with one thing broken."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from dativo_ingest.changes import classify
from dativo_ingest.config import AssetDefinition
from dativo_ingest.errors import ContractValidationError
from dativo_ingest.odcs.validation import validate_asset, validate_file
from dativo_ingest.yamlio import load_file
from tests.conftest import reference_dir

VALID = {
    "apiVersion": "v3.0.2",
    "kind": "DataContract",
    "id": "shop-orders",
    "version": "1.0.0",
    "status": "active",
    "source_type": "shop",
    "object": "orders",
    "team": {"owner": "owner@example.com"},
    "schema": [
        {"name": "id", "type": "string", "required": True},
        {"name": "amount", "type": "decimal"},
        {"name": "status", "type": "string"},
    ],
}


def issues(**changes: object) -> list[tuple[str, str, str]]:
    document = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    report = validate_asset(AssetDefinition.from_dict(document))
    return [(i.severity, i.rule, i.path) for i in report.issues]


def test_minimal_contract_is_valid() -> None:
    assert issues() == []


def test_spec_contract_is_valid_with_its_one_warning(stripe_contract_path: Path) -> None:
    asset, report = validate_file(stripe_contract_path)
    assert asset is not None and report.is_valid
    assert [(w.path, w.line) for w in report.warnings] == [("data_quality.expectations[2].column", 59)]
    assert report.as_tuple() == (True, [])
    _, strict = validate_file(stripe_contract_path, strict=True)
    assert not strict.is_valid
    assert "column 'status' is not declared" in strict.as_tuple()[1][0]


def test_official_examples_validate() -> None:
    for example in sorted(reference_dir("odcs", "examples").rglob("*.yaml")):
        _, report = validate_file(example)
        assert report.is_valid, (example, report.errors)


@pytest.mark.parametrize("version", ["1", "1.0", "v1.0.0", "01.0.0", "1.0.0.0"])
def test_version_must_be_semver(version: str) -> None:
    assert issues(version=version) == [("error", "semantic_version", "version")]


def test_prerelease_versions_are_semver() -> None:
    assert issues(version="2.0.0-rc.1") == []


def test_status_must_be_known() -> None:
    assert issues(status="live") == [("error", "known_status", "status")]


def test_owner_required_and_an_email() -> None:
    assert issues(team=None) == [("error", "owner_present", "team.owner")]
    assert issues(team={"owner": "data team"}) == [("error", "owner_present", "team.owner")]


def test_plain_odcs_without_owner_gets_a_warning_only() -> None:
    assert issues(source_type=None, team=None) == [("warning", "owner_present", "team.owner")]


def test_schema_must_not_be_empty() -> None:
    assert ("error", "schema_not_empty", "schema") in issues(schema=[])


def test_field_names_must_be_unique() -> None:
    found = issues(schema=[{"name": "id", "type": "string"}, {"name": "id", "type": "long"}])
    assert found == [("error", "unique_field_names", "schema[1].name")]


def test_nested_field_names_must_be_unique() -> None:
    nested = [
        {
            "name": "a",
            "type": "object",
            "properties": [{"name": "x", "type": "string"}, {"name": "x", "type": "string"}],
        }
    ]
    assert issues(schema=nested) == [("error", "unique_field_names", "schema[0].properties[1].name")]


def test_types_must_be_known() -> None:
    assert issues(schema=[{"name": "id", "type": "strnig"}]) == [("error", "known_types", "schema[0].type")]


def test_type_aliases_are_accepted() -> None:
    assert issues(schema=[{"name": "id", "type": "BIGINT"}, {"name": "t", "type": "datetime"}]) == []


def test_classifications_must_be_known() -> None:
    found = issues(
        schema=[{"name": "id", "type": "string", "classification": "secretive"}],
        compliance={"classification": ["PII", "TOPSECRET"]},
    )
    assert found == [
        ("error", "known_classifications", "compliance.classification[1]"),
        ("error", "known_classifications", "schema[0].classification"),
    ]


def test_retention_must_not_be_negative() -> None:
    assert ("error", "retention_not_negative", "compliance.retention_days") in issues(
        compliance={"retention_days": -1}
    )


def test_expectations_need_their_arguments_and_columns() -> None:
    found = issues(
        data_quality={
            "expectations": [
                {"type": "accepted_values", "column": "status"},
                {"type": "not_null"},
                {"type": "regex", "column": "id", "pattern": "^[a-z]+$"},
                {"type": "unique", "column": "missing"},
                {"type": "teleport", "column": "id"},
                {"type": "row_count", "min": 1},
            ]
        }
    )
    assert found == [
        ("error", "checks_understood", "data_quality.expectations[0]"),
        ("error", "checks_understood", "data_quality.expectations[1].column"),
        ("warning", "checks_understood", "data_quality.expectations[3].column"),
        ("warning", "checks_understood", "data_quality.expectations[4].type"),
    ]


def test_monitoring_needs_an_oncall() -> None:
    assert issues(data_quality={"monitoring": {"enabled": True}}) == [
        ("error", "monitoring_has_oncall", "data_quality.monitoring.oncall_rotation")
    ]
    assert issues(data_quality={"monitoring": {"enabled": False}}) == []


def test_issues_carry_lines_from_the_file(tmp_path: Path, stripe_contract_path: Path) -> None:
    text = stripe_contract_path.read_text().replace("type: timestamp", "type: instant")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    _, report = validate_file(broken)
    [error] = report.errors
    assert error.path == "schema[2].type"
    assert error.line == next(n for n, line in enumerate(text.splitlines(), 1) if "type: instant" in line)


def test_load_errors_become_a_report_not_an_exception(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1.0.0\nschema:\n  - name: id\n    type: string\n    required: sometimes\n")
    asset, report = validate_file(bad)
    assert asset is None
    assert [(e.path, e.rule) for e in report.errors] == [("schema[0].required", "load")]
    assert report.errors[0].line == 5


def test_odcs_schema_violations_are_reported() -> None:
    document = load_file(reference_dir("odcs", "examples", "schema") / "table-column.odcs.yaml")
    asset = AssetDefinition.from_dict(document)
    asset.objects[0].properties[0].quality = [{"type": "library"}]  # a library rule needs "rule"
    report = validate_asset(asset)
    assert [i.rule for i in report.errors] == ["official_schema"]
    assert report.errors[0].path.startswith("schema[0].properties[0].quality[0]")


UNKNOWN_KEYS = """\
version: 1.0.0
source_type: s
object: o
team:
  owner: a@b.com
schema:
  - name: id
    type: string
    uniqe: true
  - name: n
    type: integer
    maximum: 100
    colour: blue
"""


def test_unknown_field_keys_are_warnings_with_path_line_and_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(UNKNOWN_KEYS, encoding="utf-8")
    asset, report = validate_file(path)
    assert report.is_valid and asset is not None
    found = {(w.path, w.line, w.message.split(" (")[0]) for w in report.warnings}
    assert found == {
        ("schema[0].uniqe", 9, "unknown key 'uniqe'; did you mean 'unique'?"),
        ("schema[1].colour", 13, "unknown key 'colour'"),
    }
    assert not validate_file(path, strict=True)[1].is_valid
    odcs = asset.to_odcs()["schema"][0]["properties"][0]["customProperties"]
    assert {"property": "dativo.uniqe", "value": True} in odcs  # still carried, losslessly


def test_constraints_written_on_a_field_are_constraints() -> None:
    def asset(maximum: int, version: str) -> AssetDefinition:
        schema = [{"name": "n", "type": "integer", "maximum": maximum, "pattern": "^[0-9]+$"}]
        return AssetDefinition.from_dict({"version": version, "schema": schema})

    old = asset(100, "1.0.0")
    assert old.fields[0].logical_type_options == {"maximum": 100, "pattern": "^[0-9]+$"}
    assert not old.fields[0].model_extra
    assert AssetDefinition.from_dict(old.to_dict()) == old
    diff = classify(old, asset(50, "1.0.1"))
    assert diff.change_type == "breaking" and [c.kind for c in diff.changes] == ["bound_tightened"]


def test_a_constraint_given_twice_must_agree() -> None:
    field = {"name": "n", "type": "integer", "maximum": 5, "logicalTypeOptions": {"maximum": 9}}
    with pytest.raises(ContractValidationError) as caught:
        AssetDefinition.from_dict({"version": "1.0.0", "schema": [{"name": "id", "type": "string"}, field]})
    assert caught.value.field == "schema[1].maximum" and "conflicts with logicalTypeOptions" in str(
        caught.value
    )
