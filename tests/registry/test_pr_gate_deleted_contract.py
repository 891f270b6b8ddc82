"""A contract deleted in the pull request is gated: one breaking ``contract_removed`` change that fails
the gate unless accepted, rendered in every format with the downstream impact of the whole contract."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from dativo_ingest.cli.app import main
from tests.ingest.helpers import write_contract
from tests.registry.test_pr_gate import CONTRACT, TODAY, accept, check, entry, git, repo  # noqa: F401
from tests.registry.test_pr_gate_workflow_doc import workflow

REMOVED_ID = "stripe/customers:contract_removed"


def delete_contract(repo: Path) -> None:  # noqa: F811
    git(repo, "rm", "-q", CONTRACT)
    git(repo, "commit", "-q", "-m", "head: drop customers")


def test_a_deleted_contract_fails_with_an_annotation_and_its_impact(
    repo: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    delete_contract(repo)

    code, out, err = check(capsys, "--format", "github")
    assert code == 1, err
    (line,) = out.splitlines()
    assert line.startswith(f"::error file={CONTRACT},line=1,title=stripe/customers%3A breaking change")
    assert "contract removed (was 1.0.0)" in line and f"'{REMOVED_ID}'" in line

    code, body, _ = check(capsys, "--format", "markdown")
    assert code == 1
    assert f"| `stripe/customers` | `{CONTRACT}` | 1.0.0 → removed | - | ❌ 1 failing change(s) |" in body
    impact = body.split("**Downstream impact**", 1)[1].split("**Cost", 1)[0]
    crm = next(row for row in impact.splitlines() if "crm_dashboard" in row)
    assert "crm@example.com" in crm and "whole contract" in crm
    assert "id_audit" in impact and "fct_balances" in impact  # every column's readers, not only some
    assert f'change: "{REMOVED_ID}"' in body

    code, out, _ = check(capsys, "--format", "json")
    (contract,) = json.loads(out)["contracts"]
    assert code == 1 and contract["removed"] is True and contract["new_version"] is None
    (change,) = contract["changes"]
    assert (change["id"], change["severity"], change["line"], change["fails"]) == (
        REMOVED_ID,
        "major",
        1,
        True,
    )

    code, out, _ = check(capsys, "--format", "junit")
    case = ET.fromstring(out).find("testsuite/testcase")
    assert case is not None and case.get("name") == REMOVED_ID and case.find("failure") is not None

    code, out, _ = check(capsys, "--fail-on", "breaking")
    assert code == 1 and "FAIL" in out and "fails: the contract is removed" in out


def test_an_accepted_deletion_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    delete_contract(repo)
    accept(repo, [entry(REMOVED_ID, TODAY + timedelta(days=5))])

    code, out, err = check(capsys, "--format", "github")
    assert code == 0, out + err
    assert out.startswith(f"::notice file={CONTRACT},line=1,") and "accepted by jane@example.com" in out


def test_a_path_that_exists_nowhere_is_still_file_not_found(
    repo: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    code = main(["contract", "check", "assets/nosuch.yaml", "--against", "git:main"])
    captured = capsys.readouterr()
    assert code == 1 and "file not found" in captured.err and "nosuch.yaml" in captured.err
    assert "Traceback" not in captured.err


def test_a_contract_removed_from_the_registry_is_gated_against_specs(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = workspace / "specs"
    source = write_contract(workspace, name="leads.yaml")
    assert main(["contract", "save", str(source), "--specs", str(specs)]) == 0
    (saved,) = [p for p in specs.rglob("*.yaml") if ".registry" not in p.parts]
    saved.unlink()
    capsys.readouterr()

    code = main(["contract", "check", str(saved), "--against", str(specs), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["contracts"][0]["changes"][0]["kind"] == "contract_removed"


def test_the_sample_workflow_passes_deleted_contracts_to_the_gate() -> None:
    steps = workflow()["jobs"]["gate"]["steps"]
    (listing,) = [s["run"] for s in steps if "git diff" in s.get("run", "")]
    filters = re.findall(r"--diff-filter=([A-Z]+)", listing)
    assert filters and all("D" in f for f in filters), listing
