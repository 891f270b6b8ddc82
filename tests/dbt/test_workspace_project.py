"""One function generates a workspace's dbt project: a run's refresh, ``dativo dbt generate`` and
:func:`generate_workspace_project` write the same bytes (so the second and third change nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.dbt.workspace import generate_workspace_project
from dativo_ingest.errors import ConfigError
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.workspace import Workspace
from tests.ingest.helpers import good_rows, write_contract, write_csv, write_job


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix in (".yml", ".sql")
    }


def test_run_refresh_cli_and_function_generate_the_same_project(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "customers.csv", good_rows(0, 5))
    job = load_job(write_job(workspace, {"source": {"type": "csv", "path": "../data/customers.csv"}}))
    job.dbt.refresh = True
    refreshed = run_job(job).dbt
    assert refreshed is not None and refreshed["out"] == str(workspace / "dbt")
    assert refreshed["contracts"] == 1 and refreshed["written"] > 0
    files = snapshot(workspace / "dbt")
    assert "dbt_project.yml" in files and "profiles.yml" in files

    assert main(["dbt", "generate", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["out"] == str(workspace / "dbt")
    assert printed["written"] == 0 and printed["unchanged"] == refreshed["written"]

    again = generate_workspace_project(Workspace.current())
    assert again.out_dir == workspace / "dbt" and not again.written and not again.removed
    assert snapshot(workspace / "dbt") == files


def test_an_exposures_file_needs_a_list(workspace: Path) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "customers.csv", good_rows(0, 1))
    run_job(load_job(write_job(workspace, {"source": {"type": "csv", "path": "../data/customers.csv"}})))
    exposures = workspace / "exposures.yaml"
    exposures.write_text("exposures: {name: x}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="needs a list under 'exposures:'"):
        generate_workspace_project(Workspace.current(), exposures=exposures)
