"""The CLI configures logging (level, JSON) and never prints a secret in an error line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.logging import get_logger, remove_handlers, setup_logging


@pytest.fixture(autouse=True)
def _restore_logging():
    yield
    setup_logging(level="WARNING", stream=io.StringIO(), libraries=None)
    remove_handlers()


def test_error_lines_redact_credentials(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATIVO_HOME", str(tmp_path))
    code = main(["lineage", "show", "postgresql://app:hunter22@db/orders"])
    err = capsys.readouterr().err
    assert code == 1
    assert "hunter22" not in err and "app:***@db" in err


def test_log_level_and_json_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    assert main(["--log-level", "info", "--log-json", "contract", "validate", str(missing)]) == 1
    capsys.readouterr()
    get_logger("test").info("connected to postgresql://u:s3cret@h/db")
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["level"] == "INFO" and entry["message"] == "connected to postgresql://u:***@h/db"


def test_unknown_log_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--log-level", "loud", "contract", "validate", "x.yaml"]) == 2
    assert "--log-level" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "validate", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err
