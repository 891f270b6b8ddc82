"""A contract file renamed or moved in the pull request is compared with the file it was renamed from, so
renaming cannot slip a breaking change past ``--against git:REF`` as a "new contract"."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from dativo_ingest.cli.app import main
from tests.ingest.helpers import CUSTOMERS_CONTRACT, write_contract


def git(repo: Path, *args: str) -> None:
    base = ["git", "-c", "user.email=t@x.com", "-c", "user.name=t", "-c", "init.defaultBranch=main"]
    subprocess.run([*base, *args], cwd=repo, check=True, capture_output=True)


def test_a_renamed_contract_keeps_its_baseline(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(workspace, "init", "-q")
    write_contract(workspace)
    git(workspace, "add", ".")
    git(workspace, "commit", "-qm", "base")
    git(workspace, "checkout", "-qb", "feature")
    (workspace / "assets" / "stripe").mkdir()
    git(workspace, "mv", "assets/customers.yaml", "assets/stripe/customers.yaml")
    head = copy.deepcopy(CUSTOMERS_CONTRACT)
    head["schema"] = [f for f in head["schema"] if f["name"] != "email"]
    moved = workspace / "assets" / "stripe" / "customers.yaml"
    moved.write_text(yaml.safe_dump(head, sort_keys=False), encoding="utf-8")
    git(workspace, "commit", "-qam", "move and drop email")
    capsys.readouterr()

    code = main(["contract", "check", "assets/stripe/customers.yaml", "--against", "git:main", "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    contract = report["contracts"][0]
    assert contract["old_version"] == "1.0.0"
    assert [c["id"] for c in contract["changes"]] == ["email:field_removed"]
