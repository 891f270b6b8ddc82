"""``dativo run`` and ``dativo demo`` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from tests.ingest.helpers import good_rows, write_contract, write_csv, write_job


def test_run_prints_a_summary_and_json(workspace: Path, capsys) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", [*good_rows(0, 5), "cus_x,,active,1,2024-01-01T00:00:00Z"])
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})
    assert main(["run", "--config", str(job)]) == 0
    out = capsys.readouterr().out
    assert "rows quarantined" in out and "required:email=1" in out and "bronze.stripe_customers" in out
    assert main(["run", "--config", str(job), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "skipped" and data["rows_written"] == 5 and data["rows_quarantined"] == 1


def test_job_dir_runs_every_job_and_fails_when_one_fails(workspace: Path, capsys) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 3))
    write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}}, name="a.yaml")
    write_job(
        workspace, {"name": "other", "source": {"type": "csv", "path": "../data/missing.csv"}}, name="b.yaml"
    )
    assert main(["run", "--job-dir", str(workspace / "jobs"), "--json"]) == 1
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["status"] for r in runs] == ["success", "failed"]
    assert "no file matches" in runs[1]["error"]


def test_bad_config_is_one_line_and_exit_1(workspace: Path, capsys) -> None:
    bad = workspace / "bad.yaml"
    bad.write_text("tenant_id: a\nname: b\nasset: x.yaml\nsource: {type: csv, path: x, colour: red}\n")
    assert main(["run", "--config", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.yaml:4 source.colour: unknown key" in err
    assert "Traceback" not in err


def test_demo_builds_a_workspace_and_ingests_it(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DATIVO_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", str(tmp_path / "d"), "--no-dbt", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    runs = {r["job_name"]: r for r in report["runs"]}
    assert runs["stripe-customers-ingest"]["rows_written"] == 197
    assert runs["stripe-customers-ingest"]["rule_failures"] == {
        "required:email": 1,
        "type:created_at": 1,
        "unique:id": 1,
    }
    assert runs["shop-orders-ingest"]["rows_quarantined"] == 3
    assert (
        (tmp_path / "d" / "assets" / "stripe" / "v1.0" / "customers.yaml")
        .read_text()
        .startswith("# assets/stripe/v1.0/customers.yaml")
    )
    assert report["dbt"]["build"].startswith("skipped")
    assert any("asset://stripe/customers@1.0.0" in path for path in report["lineage"])
    assert main(["demo", str(tmp_path / "d")]) == 1  # refuses a non-empty folder


@pytest.mark.dbt
def test_demo_runs_dbt_build_green(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DATIVO_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "build passed" in out and "ERROR=0" in out and "dativo serve" in out


def test_failed_run_with_json_prints_a_json_error_and_job_dir_names_the_job(workspace: Path, capsys) -> None:
    write_contract(workspace)
    job = write_job(workspace, {"name": "other", "source": {"type": "csv", "path": "../data/missing.csv"}})
    assert main(["run", "--config", str(job), "--json"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["status"] == "failed" and data["job_name"] == "other" and "no file matches" in data["error"]
    assert "no file matches" in captured.err
    assert main(["run", "--job-dir", str(workspace / "jobs"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["runs"][0]["job_name"] == "other"  # not the file name "job"


def test_skipped_run_summary_says_the_counts_are_the_committed_runs(workspace: Path, capsys) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", [*good_rows(0, 2), "cus_x,,active,1,2024-01-01T00:00:00Z"])
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})
    assert main(["run", "--config", str(job)]) == 0
    capsys.readouterr()
    assert main(["run", "--config", str(job)]) == 0
    out = capsys.readouterr().out
    assert "skipped" in out and "rows quarantined (committed run)" in out
    assert "None" not in out and "stripe_customers_quarantine" in out


def test_undeliverable_openlineage_events_are_run_warnings(workspace: Path) -> None:
    import socket

    from dativo_ingest.ingest import load_job, run_job

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 2))
    transport = {"type": "http", "url": f"http://127.0.0.1:{port}", "timeout": 1}
    job = write_job(
        workspace,
        {
            "source": {"type": "csv", "path": "../data/c.csv"},
            "lineage": {"openlineage": {"transport": transport}},
        },
    )
    result = run_job(load_job(job))
    assert result.status == "success"
    assert any(w.startswith("OpenLineage event not delivered") for w in result.warnings), result.warnings


def test_parquet_target_lineage_id_uses_the_normalised_path(workspace: Path) -> None:
    from dativo_ingest.ingest import load_job, run_job
    from dativo_ingest.lineage import LineageTracker

    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 2))
    job = write_job(
        workspace,
        {
            "source": {"type": "csv", "path": "../data/c.csv"},
            "target": {"type": "parquet", "path": ".//../out/pq"},
        },
    )
    result = run_job(load_job(job))
    assert result.target == str((workspace / "out" / "pq").resolve())
    ids = [i for i in LineageTracker().nodes if i.startswith("target://parquet")]
    assert ids and not any("/./" in i or "/../" in i for i in ids)
