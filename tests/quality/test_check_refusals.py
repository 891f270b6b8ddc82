"""Checks that cannot mean anything on their column are refused up front, and what a check carries that
nothing reads is named, so a typo never silently changes what is enforced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dativo_ingest.config import AssetDefinition
from dativo_ingest.errors import ContractValidationError
from dativo_ingest.ingest.rules import compile_rules
from dativo_ingest.odcs.validation import validate_asset
from tests.quality.test_check_parity import _contract, _dbt_tests, _workspace

pytestmark = pytest.mark.dbt


def _asset(fields: list[dict[str, Any]], expectations: list[dict[str, Any]] | None = None) -> AssetDefinition:
    contract = {**_contract(()), "schema": fields, "data_quality": {"expectations": expectations or []}}
    return AssetDefinition.from_dict(contract)


def _issues(asset: AssetDefinition) -> list[tuple[str, str, str]]:
    return [
        (i.path, i.severity, i.message) for i in validate_asset(asset).issues if i.rule == "checks_understood"
    ]


@pytest.mark.parametrize(
    ("field", "expectation", "says"),
    [
        ({"name": "n", "type": "long"}, {"type": "between", "column": "n", "min": "abc"}, "must be numbers"),
        ({"name": "n", "type": "long"}, {"type": "length", "column": "n", "max": 2}, "needs a text column"),
        (
            {"name": "s", "type": "string", "logicalTypeOptions": {"minLength": 5, "maxLength": 2}},
            None,
            "above",
        ),
    ],
)
def test_a_check_its_column_cannot_satisfy_is_an_error(
    field: dict[str, Any], expectation: dict[str, Any] | None, says: str
) -> None:
    asset = _asset([field], [expectation] if expectation else None)
    found = _issues(asset)
    assert len(found) == 1 and found[0][1] == "error" and says in found[0][2], found
    assert compile_rules(asset).rule_names() == [f"type:{field['name']}"]


def test_keys_nothing_reads_are_named_with_a_suggestion() -> None:
    asset = _asset(
        [{"name": "n", "type": "long", "quality": [{"metric": "nullValues", "mustBeLesThan": 5}]}],
        [{"type": "between", "column": "n", "min": 0, "mxa": 9, "severity": "warnig"}],
    )
    messages = {path: message for path, _, message in _issues(asset)}
    assert "did you mean 'mustBeLessThan'" in messages["schema[0].quality[0].mustBeLesThan"]
    assert "did you mean 'max'" in messages["data_quality.expectations[0].mxa"]
    assert "read as error" in messages["data_quality.expectations[0].severity"]
    assert validate_asset(asset, strict=True).errors


def test_a_pattern_the_engine_cannot_run_is_refused_before_the_run() -> None:
    asset = _asset([{"name": "s", "type": "string"}], [{"type": "regex", "column": "s", "pattern": "^(?=a)"}])
    with pytest.raises(ContractValidationError, match="RE2"):
        compile_rules(asset)


def test_a_composite_primary_key_is_unique_over_its_columns_together(tmp_path: Path) -> None:
    fields = [
        {"name": "row_id", "type": "string"},
        {"name": "order_id", "type": "long", "primaryKey": True, "primaryKeyPosition": 1},
        {"name": "line_no", "type": "long", "primaryKey": True, "primaryKeyPosition": 2},
    ]
    contract = {**_contract(()), "schema": fields, "data_quality": {"expectations": []}}
    rows = pa.table({"row_id": ["r0", "r1", "r2", "r3"], "order_id": [1, 1, 2, 2], "line_no": [1, 2, 1, 1]})
    workspace = _workspace(tmp_path, (), rows, contract)
    quarantined = [r["failed_rules"] for r in workspace["quarantine"]]
    assert quarantined == [["unique:order_id+line_no"]]
    assert workspace["result"].rows_written == 3
    tests = _dbt_tests(workspace, "build")
    failing = [(failures, subject) for status, failures, subject in tests.values() if status == "fail"]
    assert len(failing) == 1 and failing[0][0] == 1 and "order_id" in failing[0][1], failing
    assert not any(
        status == "fail" and subject in ("order_id", "line_no") for status, _, subject in tests.values()
    )
