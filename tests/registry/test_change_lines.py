"""Each change points at the line of the key it is about, in ODCS and in the dativo format."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dativo_ingest.cli.app import main

ODCS_BASE = """\
apiVersion: v3.0.2
kind: DataContract
id: shop-orders
name: shop_orders
version: 1.0.0
status: active
team:
  - username: owner@example.com
    role: owner
customProperties:
  - property: dativo.source_type
    value: shop
schema:
  - name: orders
    physicalName: orders
    properties:
      - name: id
        logicalType: string
        required: true
      - name: customer
        logicalType: object
        properties:
          - name: email
            logicalType: string
          - name: city
            logicalType: string
          - name: zip
            logicalType: string
      - name: amount
        logicalType: number
        logicalTypeOptions:
          minimum: 0
          maximum: 100
      - name: note
        logicalType: string
slaProperties:
  - property: retention
    value: 365
    unit: d
"""
EDITS = (
    ("version: 1.0.0", "version: 1.0.1"),
    ("          - name: email\n            logicalType: string\n", ""),
    ("name: city\n            logicalType: string", "name: city\n            logicalType: integer"),
    ("maximum: 100", "maximum: 50"),
    (
        "name: note\n        logicalType: string",
        "name: note\n        logicalType: string\n        required: true",
    ),
    ("value: 365", "value: 30"),
)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@x.com", "-c", "user.name=t", *args], cwd=repo, check=True,
                   capture_output=True)  # fmt: skip


def lines_by_change(repo: Path, base: str, head: str, capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    path = repo / "orders.yaml"
    git(repo, "init", "-q")
    path.write_text(base, encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    path.write_text(head, encoding="utf-8")
    capsys.readouterr()
    main(["contract", "check", "orders.yaml", "--against", "git:HEAD", "--format", "json", "--no-impact"])
    (contract,) = json.loads(capsys.readouterr().out)["contracts"]
    return {c["id"]: c["line"] for c in contract["changes"]}


def line(text: str, needle: str, after: str = "") -> int:
    rows = text.splitlines()
    start = next(i for i, t in enumerate(rows) if after in t)
    return next(i for i in range(start, len(rows)) if needle in rows[i]) + 1


def test_odcs_nested_properties_options_and_sla(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = ODCS_BASE
    for old, new in EDITS:
        assert old in head
        head = head.replace(old, new)
    found = lines_by_change(workspace, ODCS_BASE, head, capsys)
    assert found == {
        "customer.city:type_changed": line(head, "logicalType: integer"),
        "customer.email:field_removed": line(head, "- name: city"),  # where email was
        "amount:bound_tightened": line(head, "maximum: 50"),
        "note:made_required": line(head, "required: true", after="name: note"),
        "compliance.retention_days:retention_shortened": line(head, "value:", after="property: retention"),
    }


DATIVO_BASE = """\
source_type: shop
object: orders
version: 1.0.0
team:
  owner: owner@example.com
schema:
  - name: id
    type: string
    required: true
  - name: status
    type: string
    classification: internal
  - name: address
    type: object
    properties:
      - name: city
        type: string
      - name: zip
        type: string
  - name: last
    type: string
compliance:
  retention_days: 90
"""


def test_dativo_format_fields_nested_fields_and_sections(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = (
        DATIVO_BASE.replace("version: 1.0.0", "version: 1.0.1")
        .replace("classification: internal", "classification: pii")
        .replace("      - name: zip\n        type: string\n", "")
        .replace("  - name: last\n    type: string\n", "")
        .replace("retention_days: 90", "retention_days: 30")
        .replace("    required: true", "    required: false")
    )
    found = lines_by_change(workspace, DATIVO_BASE, head, capsys)
    assert found == {
        "id:made_optional": line(head, "required: false"),
        "status:classification_changed": line(head, "classification: pii"),
        "address.zip:field_removed": line(head, "- name: city"),  # the sibling before it
        "last:field_removed": line(head, "- name: address"),  # the last field: the one before it
        "compliance.retention_days:retention_shortened": line(head, "retention_days: 30"),
    }
