"""``dativo contract validate|convert`` through the real console script entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.config import AssetDefinition
from tests.conftest import reference_dir


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_spec_contract(capsys: pytest.CaptureFixture[str], stripe_contract_path: Path) -> None:
    code, out, _ = run(capsys, "contract", "validate", str(stripe_contract_path))
    assert code == 0
    assert "valid (0 error(s), 1 warning(s))" in out
    assert f"{stripe_contract_path}:59: warning data_quality.expectations[2].column:" in out


def test_validate_strict_fails_on_warning(
    capsys: pytest.CaptureFixture[str], stripe_contract_path: Path
) -> None:
    code, out, _ = run(capsys, "contract", "validate", "--strict", str(stripe_contract_path))
    assert code == 1 and "invalid" in out


def test_validate_json_many_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stripe_contract_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1.0.0\nkind: DataContract\nschema: [{name: id, type: strnig}]\nsource_type: s\n")
    code, out, _ = run(capsys, "contract", "validate", "--json", str(stripe_contract_path), str(bad))
    results = json.loads(out)
    assert code == 1
    assert [r["valid"] for r in results] == [True, False]
    assert {e["rule"] for e in results[1]["errors"]} >= {"known_types", "owner_present"}
    assert any(e["path"] == "schema[0].type" for e in results[1]["errors"])


def test_validate_malformed_yaml_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("version: [1\n")
    code, out, err = run(capsys, "contract", "validate", str(bad))
    assert code == 1
    assert "malformed YAML" in out and "Traceback" not in out + err


@pytest.mark.parametrize("target", ["odcs-3.0.2", "odcs-3.1.0", "odcs-3.2.0", "dativo"])
def test_convert_round_trips(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stripe_contract_path: Path, target: str
) -> None:
    out_file = tmp_path / f"{target}.yaml"
    code, _, _ = run(
        capsys, "contract", "convert", str(stripe_contract_path), "--to", target, "--out", str(out_file)
    )
    assert code == 0
    converted = AssetDefinition.from_yaml(out_file)
    original = AssetDefinition.from_yaml(stripe_contract_path)
    converted.api_version = original.api_version
    assert converted == original


def test_convert_unknown_format(capsys: pytest.CaptureFixture[str], stripe_contract_path: Path) -> None:
    code, _, err = run(capsys, "contract", "convert", str(stripe_contract_path), "--to", "avro")
    assert code == 1 and "--to must be one of" in err


def test_console_script_errors_without_traceback_unless_debug(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    plain = subprocess.run(
        [sys.executable, "-m", "dativo_ingest", "contract", "convert", missing],
        capture_output=True,
        text=True,
    )
    assert plain.returncode == 1
    assert plain.stderr.strip().splitlines() == [f"error: {missing}: file not found"]
    debug = subprocess.run(
        [sys.executable, "-m", "dativo_ingest", "--debug", "contract", "convert", missing],
        capture_output=True,
        text=True,
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_validate_reports_each_file_when_one_is_not_utf8(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stripe_contract_path: Path
) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"version: \xff\xfe\x00\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1.0.0\nschema: [{name: id, type: strnig}]\nsource_type: s\n")
    code, out, err = run(capsys, "contract", "validate", str(stripe_contract_path), str(binary), str(bad))
    assert code == 1 and err == ""
    assert f"{stripe_contract_path}: valid" in out
    assert f"{binary}: invalid" in out and f"  {binary}: error file is not valid UTF-8" in out
    assert f"{bad}: invalid" in out and "unknown type 'strnig'" in out


def test_validate_file_with_byte_order_mark(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1.0.0\nschema:\n  - name: id\n    type: strnig\n")
    code, out, _ = run(capsys, "contract", "validate", str(path))
    assert code == 1
    assert f"{path}:4: error schema[0].type: unknown type 'strnig'" in out


def test_validate_odcs_reports_odcs_paths_and_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (reference_dir("odcs", "examples", "schema") / "table-column.odcs.yaml").read_text("utf-8")
    odcs = tmp_path / "x.yaml"
    odcs.write_text(
        text.replace("logicalType: string", "logicalType: strang").replace("status: active", "status: wip")
        + "team:\n  - username: someone\n    role: reader\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "contract", "validate", str(odcs))
    assert code == 1
    lines = text.splitlines()
    strang = next(i for i, line in enumerate(lines, 1) if "logicalType: string" in line)
    status = next(i for i, line in enumerate(lines, 1) if line.startswith("status:"))
    assert f"{odcs}:{strang}: error schema[0].properties[0].logicalType: unknown type 'strang'" in out
    assert f"{odcs}:{status}: warning status: 'wip' is not one of" in out
    assert f"{odcs}:{len(lines) + 1}: warning team: every contract needs an owner" in out
