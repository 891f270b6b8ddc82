"""Every way of writing a check means the same thing in ingestion and in the generated dbt project.

One contract holds one column per form in :data:`ROW_FORMS` (field flags, logicalTypeOptions, dativo
expectations with their aliases, ODCS quality rules) and one input row breaking each form. The real
ingestion run over that Parquet file must quarantine exactly the breaking rows, each for its own column
only; the generated project, run by real dbt over the same file, must fail exactly the tests of those
columns, each with one failing row. :data:`TABLE_FORMS` (row counts, metrics over a threshold, SQL rules)
cannot judge single rows: ingestion must say so by name and dbt must fail them. :data:`REFUSED_FORMS` are
refused by validation up front and enforced by neither. Add a form to a table and it is covered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from dativo_ingest.config import AssetDefinition
from dativo_ingest.dbt.rules import contract_rules
from dativo_ingest.dbt_integration import DBTGenerator, ProjectConfig
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.rules import compile_rules
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from dativo_ingest.odcs.validation import validate_asset
from tests.dbt.dbt_runner import run_dbt

pytestmark = pytest.mark.dbt

UUID = "6f1c3c1e-5a8a-4b8e-9d1e-{:012d}"


@dataclass(frozen=True)
class Form:
    """One way of writing a check on column ``name``: its field, optional expectation and ODCS rules."""

    name: str
    type: str = "string"
    field: dict[str, Any] = field(default_factory=dict)
    expectation: dict[str, Any] | None = None
    good: str = "v{}"  # the value of row i (formatted with i; an int type parses it)
    bad: Any = None  # the value of the breaking row (for "dup": the first row's value)


def _q(**rule: Any) -> dict[str, Any]:
    return {"quality": [rule]}


ROW_FORMS: tuple[Form, ...] = (
    Form("flag_required", field={"required": True}),
    Form("flag_unique", field={"unique": True}, bad="dup"),
    Form("flag_primary_key", field={"primaryKey": True}),
    Form("opt_minimum", "long", {"logicalTypeOptions": {"minimum": 0}}, good="{}", bad=-1),
    Form("opt_maximum", "long", {"logicalTypeOptions": {"maximum": 100}}, good="{}", bad=101),
    Form(
        "opt_exclusive_minimum_modifier",
        "long",
        {"logicalTypeOptions": {"minimum": 0, "exclusiveMinimum": True}},
        good="{}1",
        bad=0,
    ),
    Form(
        "opt_exclusive_maximum_modifier",
        "long",
        {"logicalTypeOptions": {"maximum": 100, "exclusiveMaximum": True}},
        good="{}",
        bad=100,
    ),
    Form("opt_min_length", field={"logicalTypeOptions": {"minLength": 3}}, good="abc{}", bad="ab"),
    Form("opt_max_length", field={"logicalTypeOptions": {"maxLength": 4}}, good="a{}", bad="abcde"),
    Form("opt_pattern", field={"logicalTypeOptions": {"pattern": "^v[0-9]+$"}}, bad="x1"),
    Form("opt_format_email", field={"logicalTypeOptions": {"format": "email"}}, good="u{}@x.io", bad="nope"),
    Form("opt_format_uuid", field={"logicalTypeOptions": {"format": "uuid"}}, good=UUID, bad="not-a-uuid"),
    Form("opt_enum", field={"logicalTypeOptions": {"enum": ["a", "b"]}}, good="a", bad="c"),
    Form("exp_not_null", expectation={"type": "not_null"}),
    Form("exp_ge_not_null", expectation={"type": "expect_column_values_to_not_be_null"}),
    Form("exp_unique", expectation={"type": "unique"}, bad="dup"),
    Form("exp_ge_unique", expectation={"type": "expect_column_values_to_be_unique"}, bad="dup"),
    Form(
        "exp_accepted_values",
        expectation={"type": "accepted_values", "values": ["a", "b"]},
        good="a",
        bad="z",
    ),
    Form("exp_in_set", expectation={"type": "in_set", "value_set": ["a", "b"]}, good="b", bad="z"),
    Form(
        "exp_ge_in_set",
        expectation={"type": "expect_column_values_to_be_in_set", "value_set": ["a"]},
        good="a",
        bad="z",
    ),
    Form("exp_not_in_set", expectation={"type": "not_in_set", "values": ["bad"]}, bad="bad"),
    Form("exp_between", "long", expectation={"type": "between", "min": 0, "max": 9}, good="5", bad=10),
    Form(
        "exp_ge_between",
        "long",
        expectation={"type": "expect_column_values_to_be_between", "min_value": 0, "max_value": 9},
        good="5",
        bad=-1,
    ),
    Form(
        "exp_ge_between_strict",
        "long",
        expectation={"type": "expect_column_values_to_be_between", "min_value": 0, "strict_min": True},
        good="1{}",
        bad=0,
    ),
    Form("exp_range", "long", expectation={"type": "range", "min": 1}, good="1{}", bad=0),
    Form("exp_pattern", expectation={"type": "pattern", "pattern": "^v"}, bad="w1"),
    Form("exp_regex", expectation={"type": "regex", "regex": "^v"}, bad="w1"),
    Form("exp_ge_regex", expectation={"type": "expect_column_values_to_match_regex", "regex": "^v"}, bad="w"),
    Form("exp_length", expectation={"type": "length", "min": 2, "max": 4}, bad="toolong"),
    Form("exp_min_length", expectation={"type": "length", "min_length": 2}, bad="v"),
    Form(
        "exp_ge_lengths",
        expectation={"type": "expect_column_value_lengths_to_be_between", "min_value": 2, "max_value": 4},
        bad="v123456",
    ),
    Form("odcs_null_check", field=_q(rule="nullCheck")),
    Form("odcs_null_values", field=_q(metric="nullValues", mustBe=0)),
    Form("odcs_null_values_below_one", field=_q(metric="nullValues", mustBeLessThan=1)),
    Form("odcs_duplicate_count", field=_q(rule="duplicateCount"), bad="dup"),
    Form("odcs_duplicate_values", field=_q(metric="duplicateValues", mustBe=0), bad="dup"),
    Form("odcs_valid_values", field=_q(rule="validValues", validValues=["a", "b"]), good="a", bad="c"),
    Form(
        "odcs_invalid_values",
        field=_q(metric="invalidValues", arguments={"validValues": ["a"]}, mustBe=0),
        good="a",
        bad="c",
    ),
    Form(
        "odcs_invalid_pattern",
        field=_q(metric="invalidValues", arguments={"pattern": "^v[0-9]+$"}, mustBe=0),
        bad="x",
    ),
    Form(
        "odcs_missing_values",
        field=_q(metric="missingValues", arguments={"missingValues": [None, "N/A"]}, mustBe=0),
        bad="N/A",
    ),
    Form(
        "odcs_min_check",
        "long",
        _q(rule="minCheck", customProperties=[{"property": "min", "value": 5}]),
        good="5{}",
        bad=4,
    ),
)


@dataclass(frozen=True)
class TableForm:
    """A table-level check on column ``name``'s data; ``match`` is text its dbt test's arguments hold."""

    name: str
    match: str
    type: str = "long"
    field: dict[str, Any] | None = None
    expectation: dict[str, Any] | None = None
    good: str = "1"
    bad_rows: tuple[int, ...] = ()  # rows holding ``bad``
    bad: Any = None


TABLE_FORMS: tuple[TableForm, ...] = (
    TableForm("t_row_count", '"max_value": 3', expectation={"type": "row_count", "max": 3}),
    TableForm("t_odcs_row_count", '"max_value": 1', field=_q(metric="rowCount", mustBeLessThan=2)),
    TableForm(
        "t_sql",
        "t_sql < 0",
        expectation={"type": "sql", "query": "select count(*) from {object} where t_sql < 0", "mustBe": 0},
        bad_rows=(0,),
        bad=-1,
    ),
    TableForm(
        "t_null_values_at_most_one",
        "t_null_values_at_most_one is null",
        "string",
        _q(metric="nullValues", mustBeLessOrEqualTo=1),
        good="v{}",
        bad_rows=(0, 1),
    ),
    TableForm(
        "t_null_percent",
        "t_null_percent is null",
        "string",
        _q(metric="nullValues", unit="percent", mustBeLessThan=1),
        good="v{}",
        bad_rows=(0,),
    ),
    TableForm(
        "t_duplicates_at_most_one",
        "t_duplicates_at_most_one is not null",
        "string",
        _q(metric="duplicateValues", mustBeLessOrEqualTo=1),
        good="v{}",
        bad_rows=(1, 2),
        bad="v0",
    ),
)
WARN_FORM = Form(
    "warn_pattern", expectation={"type": "regex", "pattern": "^v", "severity": "warning"}, bad="w1"
)

REFUSED_FORMS: tuple[tuple[dict[str, Any], str, str], ...] = (
    ({"type": "accepted_values"}, "data_quality.expectations[0]", "error"),
    ({"type": "between"}, "data_quality.expectations[0]", "error"),
    ({"type": "regex"}, "data_quality.expectations[0]", "error"),
    ({"type": "relationships"}, "data_quality.expectations[0]", "error"),
    (
        {"type": "expect_column_values_to_be_dateutil_parseable"},
        "data_quality.expectations[0].type",
        "warning",
    ),
    ({"type": "teleport"}, "data_quality.expectations[0].type", "warning"),
    ({"type": "between", "min": 10, "max": 1}, "data_quality.expectations[0]", "error"),
    ({"type": "length", "max": 2.7}, "data_quality.expectations[0]", "error"),
    ({"type": "regex", "pattern": "[unclosed"}, "data_quality.expectations[0]", "error"),
)

GOOD_ROWS = 2  # rows that break nothing, after one breaking row per row form
ALL_ROW_FORMS = (*ROW_FORMS, WARN_FORM)


def _value(form: Form | TableForm, row: int) -> Any:
    text = form.good.format(row)
    return int(text) if form.type == "long" else text


def _contract(forms: tuple[Form | TableForm, ...]) -> dict[str, Any]:
    schema = [{"name": "row_id", "type": "string"}]
    expectations = []
    for form in forms:
        schema.append({"name": form.name, "type": form.type, **(form.field or {})})
        if form.expectation is not None:
            expectations.append({"column": form.name, **form.expectation})
    return {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "parity-forms",
        "name": "parity_forms",
        "version": "1.0.0",
        "status": "active",
        "source_type": "parity",
        "object": "forms",
        "team": {"owner": "data@example.com"},
        "schema": schema,
        "data_quality": {"expectations": expectations},
    }


def _breaking_row(index: int) -> int:
    """The row breaking ALL_ROW_FORMS[index] (the first GOOD_ROWS rows break nothing)."""
    return GOOD_ROWS + index


def _table(columns: dict[str, list[Any]], forms: tuple[Form | TableForm, ...]) -> pa.Table:
    types = {f.name: pa.int64() if f.type == "long" else pa.string() for f in forms}
    return pa.table(
        {name: pa.array(values, types.get(name, pa.string())) for name, values in columns.items()}
    )


def _row_form_rows() -> pa.Table:
    """Row GOOD_ROWS + i breaks ALL_ROW_FORMS[i] only (a duplicate repeats the good row 0, which lands
    first)."""
    count = len(ALL_ROW_FORMS) + GOOD_ROWS
    columns: dict[str, list[Any]] = {"row_id": [f"r{i}" for i in range(count)]}
    for index, form in enumerate(ALL_ROW_FORMS):
        values = [_value(form, row) for row in range(count)]
        values[_breaking_row(index)] = values[0] if form.bad == "dup" else form.bad
        columns[form.name] = values
    return _table(columns, ALL_ROW_FORMS)


def _table_form_rows() -> pa.Table:
    """Five rows; each table form's bad value in its own rows."""
    count = 5
    columns: dict[str, list[Any]] = {"row_id": [f"r{i}" for i in range(count)]}
    for form in TABLE_FORMS:
        values = [_value(form, row) for row in range(count)]
        for row in form.bad_rows:
            values[row] = form.bad
        columns[form.name] = values
    return _table(columns, TABLE_FORMS)


def _workspace(
    root: Path, forms: tuple[Form | TableForm, ...], rows: pa.Table, contract: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A workspace holding the forms' contract (or ``contract``) and their rows as Parquet, ingested by a
    real run."""
    contract = contract or _contract(forms)
    (root / "assets").mkdir()
    (root / "assets" / "forms.yaml").write_text(yaml.safe_dump(contract, sort_keys=False), encoding="utf-8")
    data = root / "warehouse" / "parity" / "forms" / "data.parquet"
    data.parent.mkdir(parents=True)
    pq.write_table(rows, data)
    job = root / "jobs" / "forms.yaml"
    job.parent.mkdir()
    body = {
        "tenant_id": "acme",
        "name": "forms",
        "asset": "../assets/forms.yaml",
        "source": {"type": "parquet", "path": str(data)},
    }
    job.write_text(yaml.safe_dump(body), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATIVO_HOME", str(root))
        patch.delenv("DATIVO_DATABASE_URL", raising=False)
        patch.chdir(root)
        result = run_job(load_job(job))
        catalog = load_catalog_for(CatalogConfig(), root / "warehouse")
        quarantine = catalog.load_table("bronze.parity_forms_quarantine").scan().to_arrow().to_pylist()
    return {
        "root": root,
        "asset": AssetDefinition.from_dict(contract),
        "result": result,
        "quarantine": quarantine,
    }


def _dbt_tests(workspace: dict[str, Any], *select: str) -> dict[str, tuple[str, int, str]]:
    """dbt test unique id -> (status, failures, what it checks: column name or its arguments as JSON)."""
    out = workspace["root"] / "dbt"
    config = ProjectConfig(project_name="parity", input="parquet", warehouse=workspace["root"] / "warehouse")
    DBTGenerator(output_dir=out).generate_project([workspace["asset"]], config)
    run_dbt(out, *select)
    manifest = json.loads((out / "target" / "manifest.json").read_text())
    results = json.loads((out / "target" / "run_results.json").read_text())["results"]
    tests = {}
    for item in results:
        node = manifest["nodes"][item["unique_id"]]
        if node["resource_type"] != "test":
            continue
        subject = node.get("column_name") or json.dumps(node["test_metadata"]["kwargs"], sort_keys=True)
        tests[item["unique_id"]] = (item["status"], item["failures"], subject)
    return tests


@pytest.fixture(scope="module")
def row_forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _workspace(tmp_path_factory.mktemp("row_forms"), ALL_ROW_FORMS, _row_form_rows())


@pytest.fixture(scope="module")
def table_forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _workspace(tmp_path_factory.mktemp("table_forms"), TABLE_FORMS, _table_form_rows())


@pytest.fixture(scope="module")
def row_form_tests(row_forms: dict[str, Any]) -> dict[str, tuple[str, int, str]]:
    # The raw rows: the staging model's enforced contract refuses them, so only source tests run.
    return _dbt_tests(row_forms, "test", "--select", "source:*")


@pytest.fixture(scope="module")
def table_form_tests(table_forms: dict[str, Any]) -> dict[str, tuple[str, int, str]]:
    return _dbt_tests(table_forms, "build")


def test_the_contracts_of_every_form_validate(row_forms: dict[str, Any], table_forms: dict[str, Any]) -> None:
    for workspace in (row_forms, table_forms):
        report = validate_asset(workspace["asset"])
        assert report.errors == [] and report.warnings == []


def test_ingestion_quarantines_exactly_the_row_breaking_each_form(row_forms: dict[str, Any]) -> None:
    quarantined = {json.loads(r["record"])["row_id"]: r["failed_rules"] for r in row_forms["quarantine"]}
    expected = {f"r{_breaking_row(i)}": form.name for i, form in enumerate(ROW_FORMS)}
    assert set(quarantined) == set(expected)
    for row, column in expected.items():
        assert quarantined[row] and {rule.split(":")[-1] for rule in quarantined[row]} == {column}, row
    result = row_forms["result"]
    assert result.rows_quarantined == len(ROW_FORMS)
    assert result.rows_written == len(ALL_ROW_FORMS) + GOOD_ROWS - len(ROW_FORMS)


def test_dbt_fails_exactly_the_tests_of_the_broken_forms(
    row_form_tests: dict[str, tuple[str, int, str]],
) -> None:
    failing = [
        (failures, subject) for status, failures, subject in row_form_tests.values() if status == "fail"
    ]
    assert {subject for _, subject in failing} == {form.name for form in ROW_FORMS}
    assert {failures for failures, _ in failing} == {1}


def test_a_warning_check_is_counted_by_ingestion_and_warned_by_dbt(
    row_forms: dict[str, Any], row_form_tests: dict[str, tuple[str, int, str]]
) -> None:
    assert row_forms["result"].rule_failures["warn:pattern:warn_pattern"] == 1
    warned = {subject: failures for status, failures, subject in row_form_tests.values() if status == "warn"}
    assert warned == {WARN_FORM.name: 1}


def test_table_level_forms_are_named_by_ingestion_and_failed_by_dbt(
    table_forms: dict[str, Any], table_form_tests: dict[str, tuple[str, int, str]]
) -> None:
    assert table_forms["quarantine"] == []
    warnings = [w for w in table_forms["result"].warnings if "not enforced during ingestion" in w]
    assert len(warnings) == len(TABLE_FORMS)
    failing = [subject for status, _, subject in table_form_tests.values() if status == "fail"]
    for form in TABLE_FORMS:
        assert sum(form.match in subject for subject in failing) == 1, (form.name, failing)
    assert len(failing) == len(TABLE_FORMS)


@pytest.mark.parametrize(("expectation", "path", "severity"), REFUSED_FORMS)
def test_forms_refused_up_front_are_enforced_nowhere(
    expectation: dict[str, Any], path: str, severity: str
) -> None:
    contract = {**_contract(()), "schema": [{"name": "c", "type": "string"}]}
    contract["data_quality"] = {"expectations": [{"column": "c", **expectation}]}
    asset = AssetDefinition.from_dict(contract)
    issues = [(i.path, i.severity) for i in validate_asset(asset).issues if i.rule == "checks_understood"]
    assert issues == [(path, severity)]
    assert "enforced nowhere" in validate_asset(asset).issues[-1].message
    assert validate_asset(asset, strict=True).errors
    assert compile_rules(asset).rule_names() == ["type:c"]
    assert contract_rules(asset).rules == []
