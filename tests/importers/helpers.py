"""Run ``dativo contract import`` in-process and check what it wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dativo_ingest.cli.app import main
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.validation import validate_asset
from dativo_ingest.odcs.versions import validator

FORMATS = ("dativo", "odcs-3.0.2", "odcs-3.1.0")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``dativo contract import ARGS``: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(["contract", "import", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def import_all_formats(
    capsys: pytest.CaptureFixture[str], out: Path, *args: str
) -> dict[str, dict[str, Any]]:
    """Import in every format into ``out/<format>``; each file validates against the official schema and a
    second import rewrites identical bytes. Returns the dativo-format documents by file name."""
    for fmt in FORMATS:
        folder = out / fmt
        code, stdout, stderr = run(capsys, *args, "--format", fmt, "--out", str(folder))
        assert code == 0, stderr
        first = files(folder)
        assert first, stdout
        for name, data in first.items():
            assert_valid(yaml.safe_load(data), fmt, name)
        code, _, stderr = run(capsys, *args, "--format", fmt, "--out", str(folder))
        assert code == 0, stderr
        assert files(folder) == first, f"re-import of {fmt} changed bytes"
    return {name: yaml.safe_load(data) for name, data in files(out / "dativo").items()}


def assert_valid(document: dict[str, Any], fmt: str, name: str) -> None:
    asset = AssetDefinition.from_dict(document, source=name)
    if fmt == "dativo":
        schema_issues = [i for i in validate_asset(asset).issues if i.rule == "official_schema"]
        assert schema_issues == [], (name, schema_issues)
    else:
        version = "v" + fmt.split("-", 1)[1]
        assert document["apiVersion"] == version
        errors = [e.message for e in validator(version).iter_errors(document)]
        assert errors == [], (name, errors)


def field(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A field of a dativo-format document (flat ``schema`` list or one object's ``properties``)."""
    fields = document["schema"]
    if fields and "properties" in fields[0] and "type" not in fields[0]:
        fields = fields[0]["properties"]
    return next(f for f in fields if f["name"] == name)


def fields_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    fields = document["schema"]
    if fields and "properties" in fields[0] and "type" not in fields[0]:
        return list(fields[0]["properties"])
    return list(fields)
