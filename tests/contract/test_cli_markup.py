"""User content with ``[...]`` is printed verbatim by the CLI, never read as rich markup."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.yamlio import dumps

BASE = {"version": "1.0.0", "source_type": "s", "object": "o", "team": {"owner": "a@b.com"}}


def write(path: Path, schema: list[dict], values: list[str] | None = None, version: str = "1.0.0") -> Path:
    body = {**BASE, "version": version, "schema": schema}
    if values is not None:
        body["data_quality"] = {
            "expectations": [{"type": "accepted_values", "column": "s", "values": values}]
        }
    path.write_text(dumps(body), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_diff_prints_bracketed_values(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    schema = [{"name": "s", "type": "string"}]
    old = write(tmp_path / "old.yaml", schema, ["a", "b", "red"])
    new = write(tmp_path / "new.yaml", schema, ["a"], version="2.0.0")
    code, out, err = run(capsys, "contract", "diff", str(old), str(new))
    assert code == 0, err
    assert "accepted values removed: [b, red]" in out


def test_validate_bracketed_classification(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", [{"name": "s", "type": "string", "classification": "[/x]"}])
    code, out, err = run(capsys, "contract", "validate", str(path))
    assert code == 1
    assert "unknown classification '[/x]'" in out and "Traceback" not in err


def test_validate_bracketed_file_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "[/x].yaml"
    code, out, _ = run(capsys, "contract", "validate", str(missing))
    assert code == 1
    assert f"{missing}: invalid" in out


def test_error_handler_is_markup_safe(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "[/x][red]y.yaml"
    code, _, err = run(capsys, "contract", "convert", str(missing))
    assert code == 1
    assert err.strip() == f"error: {missing}: file not found"


def test_unexpected_error_is_markup_safe(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("broke at [/x]")

    monkeypatch.setattr("dativo_ingest.cli.contract.validate_file", boom)  # where the command looks it up
    code, _, err = run(capsys, "contract", "validate", str(tmp_path / "a.yaml"))
    assert code == 1
    assert "error: RuntimeError: broke at [/x] (run with --debug" in err


def test_run_summary_table_is_markup_safe(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATIVO_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "[bold]job.yaml").write_text("name: x\nsource: [/x\n", encoding="utf-8")
    code, out, _ = run(capsys, "run", "--job-dir", "jobs")
    assert code == 1
    assert "[bold]job failed" in out and "jobs/[bold]job.yaml:3: malformed YAML" in out
