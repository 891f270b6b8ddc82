"""A malformed accepted-changes file is one clear line naming the file and the line, and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from tests.registry.conftest import contract

ID = {"name": "id", "type": "string", "required": True}
EMAIL = {"name": "email", "type": "string", "required": True}
GOOD = """\
accepted:
  - contract: shop/orders
    change: email:field_removed
    reason: nobody reads it
    who: jane@example.com
    expires: 2030-01-01
"""


@pytest.fixture
def pull_request(workspace: Path) -> Path:
    """The registry holds shop/orders 1.0.0 with email; the working copy drops email (1.1.0)."""
    base = workspace / "base.yaml"
    contract(schema=[ID, EMAIL]).to_yaml(base)
    assert main(["contract", "save", str(base), "--specs", str(workspace / "specs")]) == 0
    head = workspace / "orders.yaml"
    contract(schema=[ID], version="1.1.0").to_yaml(head)
    return head


def run(path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["contract", "check", str(path), "--against", "specs", "--today", "2029-06-01", *args])
    return code, capsys.readouterr().err.strip()


def write(workspace: Path, text: str) -> Path:
    file = workspace / ".dativo" / "accepted-changes.yaml"
    file.parent.mkdir(exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return file


def test_a_well_formed_file_accepts_the_change(
    workspace: Path, pull_request: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(pull_request, capsys)[0] == 1
    write(workspace, GOOD)
    assert run(pull_request, capsys) == (0, "")
    write(workspace, "")  # an empty file accepts nothing
    assert run(pull_request, capsys)[0] == 1


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (GOOD.replace("expires:", "expiry:"), 6,
         "accepted[0]: unknown field 'expiry' (expected contract, change, reason, who, expires)"),
        (GOOD.replace("    who: jane@example.com\n", ""), 2, "accepted[0]: missing field 'who'"),
        (GOOD.replace("2030-01-01", "01/01/2030"), 6,
         "accepted[0].expires must be a date YYYY-MM-DD, got '01/01/2030'"),
        (GOOD.replace("2030-01-01", "2030-02-30"), 6,
         "accepted[0].expires must be a date YYYY-MM-DD, got '2030-02-30'"),
        (GOOD.replace("reason: nobody reads it", "reason:"), 4,
         "accepted[0].reason must be a non-empty text, got empty"),
        (GOOD + "  - just a string\n", 7, "accepted[1] must be a mapping with contract, change, reason, who, "
         "expires"),
        (GOOD + "ignored: []\n", 7, "unknown key 'ignored' (the file holds one list: accepted)"),
        ("accepted: {contract: x}\n", 1, "'accepted' must be a list of entries, got dict"),
        (GOOD.replace("    change: email", "    change: [email"), 4, "malformed YAML"),  # parser stops
    ],
    ids=["unknown-field", "missing-field", "not-a-date", "impossible-date", "empty-value", "not-a-mapping",
         "unknown-top-key", "not-a-list", "syntax"],
)  # fmt: skip
def test_a_malformed_file_is_one_line_with_file_and_line_and_exit_code_2(
    workspace: Path,
    pull_request: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    line: int,
    message: str,
) -> None:
    file = write(workspace, text)
    code, err = run(pull_request, capsys)
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"error: {file}:{line}: "), err
    assert message in err


def test_a_top_level_list_is_refused(
    workspace: Path, pull_request: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(workspace, "- contract: shop/orders\n")
    code, err = run(pull_request, capsys)
    assert code == 2 and err == (
        f"error: {file}: top level must be a mapping with an 'accepted' list, got list"
    )


def test_an_explicit_file_that_is_missing_and_a_bad_today(
    workspace: Path, pull_request: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(pull_request, capsys, "--accepted", "nowhere.yaml")
    assert code == 1 and err == "error: nowhere.yaml --accepted: accepted-changes file not found"
    other = write(workspace, GOOD).rename(workspace / "team-accepted.yaml")
    assert run(pull_request, capsys, "--accepted", str(other))[0] == 0
    capsys.readouterr()
    code = main(["contract", "check", str(pull_request), "--against", "specs", "--today", "tomorrow"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err == "error: --today: --today must be a date YYYY-MM-DD, got 'tomorrow'"


def test_an_unknown_format_is_refused(pull_request: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(pull_request, capsys, "--format", "sarif")
    assert code == 1 and "--format must be one of text, json, junit, github, markdown" in err
