"""``dativo contract save|diff|history|check``, including the CI gate against specs/ and git:REF."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from dativo_ingest.cli.app import main
from tests.registry.conftest import contract

ID = {"name": "id", "type": "string", "required": True}
EMAIL = {"name": "email", "type": "string", "required": True}
PHONE = {"name": "phone", "type": "string"}


def write(path: Path, **kwargs) -> Path:
    contract(**kwargs).to_yaml(path)
    return path


def test_save_history_and_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = tmp_path / "specs"
    v1 = write(tmp_path / "v1.yaml", schema=[ID, EMAIL])
    assert main(["contract", "save", str(v1), "--specs", str(specs), "--author", "a@x.com"]) == 0
    assert "saved shop/orders 1.0.0 (initial)" in capsys.readouterr().out
    assert main(["contract", "save", str(v1), "--specs", str(specs)]) == 0
    assert "unchanged" in capsys.readouterr().out

    bad = write(tmp_path / "bad.yaml", schema=[ID], version="1.1.0")
    assert main(["contract", "save", str(bad), "--specs", str(specs)]) == 1
    err = capsys.readouterr().err
    assert "needs version >= 2.0.0" in err and "email: required field removed" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

    assert main(["contract", "save", str(bad), "--specs", str(specs), "--force", "--author", "ops"]) == 0
    assert "forced" in capsys.readouterr().out
    assert main(["contract", "history", "shop", "orders", "--specs", str(specs), "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [(h["version"], h["author"], h["forced"]) for h in history] == [
        ("1.1.0", "ops", True),
        ("1.0.0", "a@x.com", False),
    ]
    assert main(["contract", "history", "shop", "orders", "--specs", str(specs)]) == 0
    assert "1.1.0" in capsys.readouterr().out
    assert main(["contract", "history", "shop", "nothing", "--specs", str(specs)]) == 1
    assert "no contract shop/nothing" in capsys.readouterr().err


def test_diff_files_and_registry_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path / "old.yaml", schema=[ID, EMAIL])
    new = write(tmp_path / "new.yaml", schema=[ID, {**EMAIL, "required": False}, PHONE], version="1.1.0")
    assert main(["contract", "diff", str(old), str(new), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["change_type"] == "non-breaking" and data["suggested_version"] == "1.1.0"
    assert {c["kind"] for c in data["changes"]} == {"made_optional", "field_added"}

    assert main(["contract", "diff", str(old), str(new), "--perspective", "consumer"]) == 0
    out = capsys.readouterr().out
    assert "breaking" in out and "suggested version 2.0.0" in out and "MAJOR email" in out

    specs = tmp_path / "specs"
    main(["contract", "save", str(old), "--specs", str(specs)])
    main(["contract", "save", str(new), "--specs", str(specs)])
    capsys.readouterr()
    assert (
        main(["contract", "diff", "shop/orders@1.0.0", "shop/orders", "--specs", str(specs), "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["new_version"] == "1.1.0"
    assert main(["contract", "diff", "nope", str(new)]) == 1
    assert "neither a file nor a registry reference" in capsys.readouterr().err
    assert main(["contract", "diff", str(old), str(new), "--perspective", "auditor"]) == 1
    assert "perspective must be one of" in capsys.readouterr().err


def test_check_against_specs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = tmp_path / "specs"
    main(["contract", "save", str(write(tmp_path / "base.yaml", schema=[ID, EMAIL])), "--specs", str(specs)])
    good = write(tmp_path / "good.yaml", schema=[ID, EMAIL, PHONE], version="1.1.0")
    short = write(tmp_path / "short.yaml", schema=[ID], version="1.1.0")
    other = write(tmp_path / "other.yaml", source_type="crm", object="leads")
    capsys.readouterr()

    assert main(["contract", "check", str(good), str(other), "--against", str(specs)]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "FAIL" not in out and "new contract" in out

    junit = tmp_path / "report.xml"
    code = main(["contract", "check", str(good), str(short), "--against", str(specs), "--junit", str(junit)])
    assert code == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "needs version >= 2.0.0" in out and "email: required field removed" in out
    suites = ET.parse(junit).getroot()
    assert suites.get("tests") == "2" and suites.get("failures") == "1"
    failures = suites.findall("testsuite/testcase/failure")
    assert len(failures) == 1 and "email" in failures[0].text

    assert main(["contract", "check", str(short), "--against", str(specs), "--json"]) == 1
    (result,) = json.loads(capsys.readouterr().out)["contracts"]
    assert (
        result["ok"] is False and result["required_version"] == "2.0.0" and result["old_version"] == "1.0.0"
    )


def test_check_a_placed_file_inside_specs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A hand-placed new line (v1.1) is checked against the previous placed version, not itself."""
    specs = tmp_path / "specs"
    write(specs / "shop" / "v1.0" / "orders.yaml", schema=[ID, EMAIL])
    placed = write(specs / "shop" / "v1.1" / "orders.yaml", schema=[ID], version="1.1.0")
    assert main(["contract", "check", str(placed), "--against", str(specs)]) == 1
    assert "needs version >= 2.0.0" in capsys.readouterr().out


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@x.com", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_check_against_git_ref(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    (repo / "contracts").mkdir(parents=True)
    _git(repo, "init", "-q")
    path = write(repo / "contracts" / "orders.yaml", schema=[ID, EMAIL])
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")

    write(path, schema=[ID], version="1.0.1")
    assert main(["contract", "check", str(path), "--against", "git:HEAD"]) == 1
    assert "needs version >= 2.0.0" in capsys.readouterr().out

    write(path, schema=[ID], version="2.0.0")
    assert main(["contract", "check", str(path), "--against", "git:HEAD", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["contracts"]
    assert result["ok"] and result["baseline"] == "git:HEAD" and result["change_type"] == "breaking"

    fresh = write(repo / "contracts" / "new.yaml", source_type="crm", object="leads")
    assert main(["contract", "check", str(fresh), "--against", "git:HEAD"]) == 0
    assert "new contract" in capsys.readouterr().out

    assert main(["contract", "check", str(path), "--against", "git:no-such-ref"]) == 1
    err = capsys.readouterr().err
    assert "git show no-such-ref" in err and "Traceback" not in err


def test_check_bad_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema: [\n")
    assert main(["contract", "check", str(broken), "--against", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert str(broken) in err and "malformed YAML" in err and len(err.splitlines()) == 1


def test_real_console_script(tmp_path: Path) -> None:
    """The installed ``dativo`` entry point, as CI would run it."""
    exe = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "dativo"
    if not exe.exists():
        pytest.skip("console script not installed")
    old = write(tmp_path / "old.yaml", schema=[ID, EMAIL])
    new = write(tmp_path / "new.yaml", schema=[ID], version="1.0.1")
    (tmp_path / "specs").mkdir()
    done = subprocess.run(
        [str(exe), "contract", "check", str(new), "--against", str(tmp_path / "specs")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr  # empty registry, no baseline yet: new contract
    subprocess.run(
        [str(exe), "contract", "save", str(old), "--specs", str(tmp_path / "specs")],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [str(exe), "contract", "check", str(new), "--against", str(tmp_path / "specs")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "FAIL" in done.stdout


def test_check_against_missing_specs_dir_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "c.yaml", schema=[ID])
    missing = tmp_path / "nodir"
    assert main(["contract", "check", str(path), "--against", str(missing)]) == 1
    captured = capsys.readouterr()
    assert "PASS" not in captured.out
    assert captured.err.strip() == f"error: {missing} --against: baseline specs directory not found"
