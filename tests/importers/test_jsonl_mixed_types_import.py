"""A JSON Lines field whose values change type between rows (``"7"`` then ``7``) imports as text instead
of failing; fields of one type keep it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.importers.helpers import field, import_all_formats, run


def test_mixed_type_field_becomes_string(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    records = [{"id": i, "code": str(i) if i % 2 else i, "tags": ["a"], "at": None} for i in range(20)]
    (drop / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    docs = import_all_formats(capsys, tmp_path / "out", "--from", "jsonl", str(drop))
    doc = docs["events.yaml"]
    assert field(doc, "id")["type"] == "long"
    assert field(doc, "code")["type"] == "string"
    assert field(doc, "tags")["type"] == "array"
    code, out, err = run(capsys, "--from", "jsonl", str(drop), "--profile", "--json")
    assert code == 0, err
    proposals = {(p["column"], p["check"]) for p in json.loads(out)[0]["proposals"]}
    assert ("code", "unique") in proposals


def test_a_line_that_is_not_json_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"id": 1, "code": "a"}\n{"id": "x", "code": 2}\nnot json\n')
    code, _, err = run(capsys, "--from", "jsonl", str(path), "--out", str(tmp_path / "out"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "broken.jsonl" in err
    assert not (tmp_path / "out").exists()
