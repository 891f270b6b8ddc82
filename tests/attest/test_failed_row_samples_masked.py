"""Failed-row samples never carry a restricted (PII) value for a requester who is not elevated; an
elevated requester sees the rows as they are. The policy is the policy layer's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dativo_ingest.cli.app import main
from tests.attest.conftest import EMAILS, write_contract

ENGINES = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
    "iceberg",
    "csv",
]


def report(capsys, contract: Path, *args: str) -> tuple[str, dict]:
    code = main(["contract", "test", str(contract), "--json", "--sample", "20", *args])
    out = capsys.readouterr().out
    assert code == 1
    return out, json.loads(out)


@pytest.mark.parametrize("seeded", ENGINES, indirect=True)
def test_no_restricted_value_reaches_a_requester_who_is_not_elevated(seeded, workspace: Path, capsys) -> None:
    (workspace / "policy.yaml").write_text(yaml.safe_dump({"elevated_requesters": ["dpo@example.com"]}))
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    for requester in ([], ["--as", "analyst@example.com"]):
        text, data = report(capsys, contract, *requester)
        assert not [email for email in EMAILS if email in text]
        samples = [row for check in data["checks"] for row in check["examples"]]
        assert samples and all(row["email"] in ("withheld by policy", None) for row in samples)
        assert any(row["email"] == "withheld by policy" for row in samples)
    text, data = report(capsys, contract, "--as", "dpo@example.com")
    regex = next(c for c in data["checks"] if c["id"] == "regex:email")
    assert [row["email"] for row in regex["examples"]] == ["eve-at-example"]


@pytest.mark.parametrize("seeded", ["parquet"], indirect=True)
def test_hide_policy_drops_the_column_from_samples(seeded, workspace: Path, capsys) -> None:
    policy = workspace / "strict.yaml"
    policy.write_text(yaml.safe_dump({"on_restricted": "hide"}))
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    text, data = report(capsys, contract, "--policy", str(policy))
    assert not [email for email in EMAILS if email in text]
    assert all("email" not in row for check in data["checks"] for row in check["examples"])


@pytest.mark.parametrize(
    "seeded",
    [pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("mysql", marks=pytest.mark.mysql)],
    indirect=True,
)
def test_a_sql_rule_returning_a_restricted_value_does_not_show_it(seeded, workspace: Path, capsys) -> None:
    rule = {"type": "sql", "query": "SELECT MIN(email) FROM {object}", "mustBe": 0}
    contract = write_contract(workspace, seeded["table"], [seeded["server"]], quality=[rule])
    text, data = report(capsys, contract)
    sql = next(c for c in data["checks"] if c["id"] == "sql")
    assert sql["status"] == "skipped" and "not a number" in sql["reason"]
    assert main(["contract", "test", str(contract), "--junit", str(workspace / "r.xml")]) == 1
    text += capsys.readouterr().out + (workspace / "r.xml").read_text()
    assert not [email for email in EMAILS if email in text]
