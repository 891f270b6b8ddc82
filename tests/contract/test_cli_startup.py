"""``dativo --help`` lists every command without importing one; a command's module loads when it runs."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dativo_ingest.cli.app import COMMANDS, commands_of, main

SRC = Path(__file__).resolve().parents[2] / "src"


def first_paragraph(text: str | None) -> str:
    return " ".join(inspect.cleandoc(text or "").split("\n\n")[0].split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_help_is_the_commands_own(name: str) -> None:
    command = commands_of(COMMANDS[name].module)[name]
    assert COMMANDS[name].help == first_paragraph(command.short_help or command.help)


def test_every_command_module_registers_only_its_listed_commands() -> None:
    for module in {entry.module for entry in COMMANDS.values()}:
        listed = {name for name, entry in COMMANDS.items() if entry.module == module}
        assert set(commands_of(module)) == listed, module


def imported_after(*args: str) -> set[str]:
    """The ``dativo_ingest.cli`` modules a fresh interpreter has imported after ``dativo ARGS``."""
    script = (
        "import sys\n"
        "from dativo_ingest.cli.app import main\n"
        f"code = main({list(args)!r})\n"
        "loaded = ' '.join(m for m in sys.modules if m.startswith('dativo_ingest.cli.'))\n"
        "sys.stderr.write('\\nloaded: ' + loaded + '\\n')\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stderr.rsplit("loaded: ", 1)[1].split()
    return set(loaded) - {"dativo_ingest.cli.app"}


def test_help_imports_no_command_module() -> None:
    assert imported_after("--help") == set()


def test_a_command_imports_only_its_own_module() -> None:
    contract = Path(__file__).resolve().parents[1] / "fixtures" / "stripe_customers.yaml"
    assert imported_after("contract", "validate", str(contract)) == {"dativo_ingest.cli.contract"}


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, entry in COMMANDS.items():
        assert name in out
        assert entry.help.split()[0] in out


def test_unknown_command_is_a_usage_error_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contrac"]) == 2
    assert "No such command 'contrac'. Did you mean 'contract'?" in capsys.readouterr().err
    assert main(["contract", "histroy"]) == 2
    assert "Did you mean 'history'" in capsys.readouterr().err  # (or 'test-history')
