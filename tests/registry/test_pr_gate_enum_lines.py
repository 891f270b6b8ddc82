"""Annotations of an accepted-values change sit at the list of values that changed, in both dialects:
an ODCS field's ``quality`` rule ``validValues`` and a dativo ``data_quality.expectations`` entry."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dativo_ingest.cli.app import main

ODCS = """apiVersion: v3.0.2
kind: DataContract
id: shop-orders
name: orders
version: {version}
status: active
schema:
  - name: orders
    properties:
      - name: id
        logicalType: string
        required: true
      - name: status
        logicalType: string
        quality:
          - type: library
            rule: validValues
            validValues: {values}
"""
DATIVO = """apiVersion: v3.0.2
kind: DataContract
id: stripe-customers-001
name: stripe_customers
version: {version}
source_type: stripe
object: customers
schema:
  - name: id
    type: string
    required: true
  - name: status
    type: string
data_quality:
  expectations:
    - type: accepted_values
      column: status
      values: {values}
"""


def git(repo: Path, *args: str) -> None:
    base = ["git", "-c", "user.email=t@x.com", "-c", "user.name=t", "-c", "init.defaultBranch=main"]
    subprocess.run([*base, *args], cwd=repo, check=True, capture_output=True)


@pytest.mark.parametrize(("template", "key"), [(ODCS, "validValues:"), (DATIVO, "values:")])
def test_removed_accepted_value_points_at_the_values(
    workspace: Path, capsys: pytest.CaptureFixture[str], template: str, key: str
) -> None:
    path = workspace / "specs" / "contract.yaml"
    path.parent.mkdir()
    git(workspace, "init", "-q")
    path.write_text(template.format(version="1.0.0", values="[open, paid, shipped]"), encoding="utf-8")
    git(workspace, "add", ".")
    git(workspace, "commit", "-qm", "base")
    git(workspace, "checkout", "-qb", "feature")
    path.write_text(template.format(version="1.1.0", values="[open, paid]"), encoding="utf-8")
    git(workspace, "commit", "-qam", "head")
    capsys.readouterr()

    args = ["specs/contract.yaml", "--against", "git:main", "--json", "--no-impact"]
    code = main(["contract", "check", *args])

    assert code == 1
    changes = json.loads(capsys.readouterr().out)["contracts"][0]["changes"]
    removed = next(c for c in changes if c["kind"] == "accepted_values_removed")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert removed["line"] == next(i for i, text in enumerate(lines) if key in text) + 1
