"""A shortened ODCS retention is annotated at the ``value`` of its ``slaProperties`` item, not at the
section's first line (the section may hold several properties)."""

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
slaProperties:
  - property: frequency
    value: 1
    unit: d
  - property: retention
    value: {days}
    unit: d
"""


def git(repo: Path, *args: str) -> None:
    base = ["git", "-c", "user.email=t@x.com", "-c", "user.name=t", "-c", "init.defaultBranch=main"]
    subprocess.run([*base, *args], cwd=repo, check=True, capture_output=True)


def test_shortened_retention_points_at_its_value(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = workspace / "specs" / "orders.yaml"
    path.parent.mkdir()
    git(workspace, "init", "-q")
    path.write_text(ODCS.format(version="1.0.0", days=365), encoding="utf-8")
    git(workspace, "add", ".")
    git(workspace, "commit", "-qm", "base")
    git(workspace, "checkout", "-qb", "feature")
    path.write_text(ODCS.format(version="1.0.1", days=30), encoding="utf-8")
    git(workspace, "commit", "-qam", "head")
    capsys.readouterr()

    code = main(["contract", "check", "specs/orders.yaml", "--against", "git:main", "--json", "--no-impact"])

    assert code == 1
    changes = json.loads(capsys.readouterr().out)["contracts"][0]["changes"]
    shortened = next(c for c in changes if c["kind"] == "retention_shortened")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert shortened["line"] == lines.index("    value: 30") + 1
