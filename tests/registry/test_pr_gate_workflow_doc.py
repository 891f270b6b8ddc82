"""The sample GitHub Actions workflow in docs/pr-gate.md parses and uses only options the gate has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dativo_ingest.cli.app import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "pr-gate.md"


def workflow() -> dict:
    block = re.search(r"```yaml\n(# \.github/workflows/.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block, "docs/pr-gate.md has no workflow block"
    return yaml.safe_load(block.group(1))


def test_the_workflow_is_a_pull_request_job_running_the_gate(capsys: pytest.CaptureFixture[str]) -> None:
    flow = workflow()
    assert "pull_request" in flow[True]  # YAML 1.1 reads the key `on` as true
    steps = flow["jobs"]["gate"]["steps"]
    scripts = "\n".join(s.get("run", "") for s in steps)
    assert "--format github" in scripts and "--format markdown" in scripts
    assert any(s.get("with", {}).get("fetch-depth") == 0 for s in steps)  # the base revision is needed
    commands = [
        line.split("dativo contract check", 1)[1]
        for line in scripts.replace("\\\n", " ").splitlines()
        if "dativo contract check" in line
    ]
    assert len(commands) == 2
    used = {option for command in commands for option in re.findall(r"(--[a-z][a-z-]+)", command)}
    assert used >= {"--against", "--format", "--junit", "--fail-on"}
    capsys.readouterr()
    assert main(["contract", "check", "--help"]) == 0
    help_text = capsys.readouterr().out
    unknown = {o for o in used if o not in help_text}
    assert unknown == set(), unknown
