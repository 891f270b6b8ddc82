"""A CSV whose quoted values hold line breaks (RFC 4180) imports: the break is part of the value, also
where it falls on a boundary of pyarrow's parallel read blocks (1 MB)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.importers.helpers import field, import_all_formats, run

ROWS = 60_000  # about 2 MB


def test_quoted_newlines_in_csv_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = ["id,note"] + [f'{i},"first line\nsecond ""quoted"" line"' for i in range(ROWS)]
    (drop / "notes.csv").write_text("\n".join(rows) + "\n")
    docs = import_all_formats(capsys, tmp_path / "out", "--from", "csv", str(drop))
    assert field(docs["notes.yaml"], "id")["type"] == "long"
    assert field(docs["notes.yaml"], "note")["type"] == "string"
    code, out, err = run(capsys, "--from", "csv", str(drop), "--profile", "--json")
    assert code == 0, err
    required = [p for p in json.loads(out)[0]["proposals"] if p["check"] == "required"]
    assert {p["column"]: p["evidence"]["rows"] for p in required} == {"id": ROWS, "note": ROWS}
