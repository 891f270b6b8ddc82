"""Seeded violations give the exact count per check on every engine: SQL pushed down into PostgreSQL and
MariaDB, the streamed validator over Iceberg and CSV, JSONL and Parquet files."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from dativo_ingest.cli.app import main
from tests.attest.conftest import EXPECTED, ROWS, history_rows, write_contract

ENGINES = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
    "iceberg",
    "parquet",
    "csv",
    "jsonl",
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["contract", "test", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("seeded", ENGINES, indirect=True)
def test_each_check_fails_on_exactly_its_seeded_rows(seeded, workspace: Path, capsys) -> None:
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    code, out, _ = run(capsys, str(contract), "--json")
    report = json.loads(out)
    assert code == 1 and report["passed"] is False
    assert report["rows_checked"] == len(ROWS)
    assert {c["id"]: c["failed"] for c in report["checks"]} == EXPECTED
    assert {c["status"] for c in report["checks"]} == {"failed"}
    unique = next(c for c in report["checks"] if c["id"] == "unique:id")
    assert unique["duplicated_values"] == 1
    assert next(c for c in report["checks"] if c["id"] == "range:amount")["share"] == pytest.approx(0.2)
    for check in report["checks"]:  # a bounded sample of failing rows (--sample, default 5)
        assert 1 <= len(check["examples"]) <= 5
    amounts = {
        row["amount"] for row in next(c for c in report["checks"] if c["id"] == "range:amount")["examples"]
    }
    assert {float(a) for a in amounts} == {-5.0, 5000.0}
    assert {
        r["check_id"]: r["failed"] for r in history_rows(contract_id=report["contract"]["id"])
    } == EXPECTED


@pytest.mark.parametrize(
    ("seeded", "where"),
    [
        pytest.param("postgres", "id <= 4 OR id IS NULL", marks=pytest.mark.postgres),
        pytest.param("mysql", "id <= 4 OR id IS NULL", marks=pytest.mark.mysql),
        ("iceberg", "id <= 4 or id is null"),
        ("parquet", "id <= 4 OR id IS NULL"),
    ],
    indirect=["seeded"],
)
def test_the_filter_tests_only_the_rows_it_selects(seeded, where: str, workspace: Path, capsys) -> None:
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    code, out, _ = run(capsys, str(contract), "--json", "--filter", where)
    report = json.loads(out)
    assert report["rows_checked"] == 4 and report["filter"] == where
    failing = {c["id"]: c["failed"] for c in report["checks"] if c["failed"]}
    assert failing == {"not_null:id": 1, "unique:id": 1} and code == 1


@pytest.mark.parametrize("seeded", ["parquet"], indirect=True)
def test_passing_data_exits_0_and_a_table_with_more_columns_only_warns(seeded, workspace, capsys) -> None:
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    code, out, _ = run(capsys, str(contract), "--json", "--filter", "id = 1")
    report = json.loads(out)
    assert code == 0 and report["passed"] is True and report["rows_checked"] == 1
    assert any("columns not in the contract: note" in w for w in report["warnings"])


@pytest.mark.parametrize("seeded", ["iceberg"], indirect=True)
def test_junit_report_names_each_check_and_its_failure(seeded, workspace: Path, capsys) -> None:
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    junit = workspace / "reports" / "quality.xml"
    junit.parent.mkdir()
    code, out, _ = run(capsys, str(contract), "--junit", str(junit))
    assert code == 1 and "range:amount" in out and "failed" in out
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "6" and suite.get("failures") == "6"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == set(EXPECTED)
    failure = cases["length:code"].find("failure")
    assert failure is not None and "2 of 10 rows failed" in (failure.get("message") or "")


SQL_RULE = {"type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE amount > 100", "mustBe": 0}
ROW_COUNT = {"metric": "rowCount", "mustBeGreaterThan": 5}


@pytest.mark.parametrize("seeded", ["parquet"], indirect=True)
def test_checks_an_engine_cannot_run_are_skipped_with_the_reason(seeded, workspace, capsys) -> None:
    contract = write_contract(workspace, seeded["table"], [seeded["server"]], quality=[SQL_RULE, ROW_COUNT])
    code, out, _ = run(capsys, str(contract), "--json")
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert checks["sql"]["status"] == "skipped" and "need a SQL engine" in checks["sql"]["reason"]
    assert checks["row_count"]["value"] == 10 and checks["row_count"]["status"] == "passed"
    assert code == 1


@pytest.mark.postgres
@pytest.mark.parametrize("seeded", ["postgres"], indirect=True)
def test_sql_rules_and_row_counts_run_in_the_database(seeded, workspace, capsys) -> None:
    contract = write_contract(workspace, seeded["table"], [seeded["server"]], quality=[SQL_RULE, ROW_COUNT])
    code, out, _ = run(capsys, str(contract), "--json")
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert checks["sql"]["value"] == 1 and checks["sql"]["status"] == "failed"
    assert checks["row_count"]["value"] == 10 and checks["row_count"]["status"] == "passed"
    assert code == 1
