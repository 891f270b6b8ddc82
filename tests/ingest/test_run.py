"""End to end: job -> Iceberg (pyiceberg, DuckDB) -> quarantine -> lineage -> OpenLineage -> FinOps -> dbt."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from dativo_ingest.errors import DataValidationError, TargetError
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from dativo_ingest.workspace import Workspace
from tests.ingest.helpers import CUSTOMERS_CONTRACT, good_rows, write_contract, write_csv, write_job

BAD_ROWS = [
    "cus_bad001,,active,1,2024-01-01T00:00:00Z",  # empty email -> required
    "cus_000001,dup@example.com,active,1,2024-01-01T00:00:00Z",  # repeats an id -> unique
    "cus_bad003,x@example.com,bogus,1,2024-01-01T00:00:00Z",  # accepted_values
    "cus_bad004,x@example.com,active,-5,2024-02-30T00:00:00Z",  # minimum + type
]


def table(workspace: Path, name: str = "bronze.stripe_customers"):
    return load_catalog_for(CatalogConfig(), workspace / "warehouse").load_table(name)


def duckdb_count(tbl) -> int:
    files = [task.file.file_path.removeprefix("file://") for task in tbl.scan().plan_files()]
    return duckdb.connect().execute(f"SELECT count(*) FROM read_parquet({files!r})").fetchone()[0]


@pytest.fixture
def customers_job(workspace: Path) -> Path:
    write_contract(workspace)
    write_csv(workspace / "data" / "customers.csv", good_rows(0, 50) + BAD_ROWS)
    return write_job(
        workspace,
        {
            "source": {"type": "csv", "path": "../data/customers.csv"},
            "lineage": {
                "openlineage": {
                    "transport": {
                        "type": "file",
                        "log_file_path": str(workspace / "ol.jsonl"),
                        "append": True,
                    }
                }
            },
            "finops": {"cost_center": "analytics"},
        },
    )


def test_end_to_end_run_lands_valid_rows_quarantines_the_rest_and_records_everything(
    workspace: Path, customers_job: Path
) -> None:
    result = run_job(load_job(customers_job))
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (54, 50, 4)
    assert result.rows_read == result.rows_written + result.rows_quarantined
    assert result.rule_failures == {
        "accepted_values:status": 1,
        "minimum:balance": 1,
        "required:email": 1,
        "type:created_at": 1,
        "unique:id": 1,
    }
    # Iceberg, read by pyiceberg and by DuckDB
    tbl = table(workspace)
    assert tbl.scan().to_arrow().num_rows == 50
    assert duckdb_count(tbl) == 50
    assert str(tbl.schema().find_field("created_at").field_type) == "timestamptz"
    assert tbl.current_snapshot().summary["dativo.run-key"] == result.run_key
    assert tbl.properties["dativo.contract-version"] == "1.0.0"
    # quarantine rows carry their reasons and the source record
    quarantine = table(workspace, "bronze.stripe_customers_quarantine").scan().to_arrow().to_pylist()
    reasons = {json.loads(r["record"])["id"]: sorted(r["failed_rules"]) for r in quarantine}
    assert reasons == {
        "cus_bad001": ["required:email"],
        "cus_000001": ["unique:id"],
        "cus_bad003": ["accepted_values:status"],
        "cus_bad004": ["minimum:balance", "type:created_at"],
    }
    # ... and where they are: the CSV's physical line (the header is line 1, data row 0 is line 2)
    assert sorted(r["source_row"] for r in quarantine) == [52, 53, 54, 55]
    assert {r["source_file"] for r in quarantine} == {str(workspace / "data" / "customers.csv")}
    assert sorted(r["source_location"].rsplit("/", 1)[-1] for r in quarantine) == [
        f"customers.csv:{n}" for n in (52, 53, 54, 55)
    ]
    # lineage persisted in the store
    from dativo_ingest.lineage import LineageTracker, validate_event

    tracker = LineageTracker()
    runs = tracker.runs(job_name="customers")
    assert runs and runs[0]["status"] in ("success", "COMPLETE", "complete")
    downstream = {e["node"]["id"] for e in tracker.get_downstream_lineage("source://stripe/customers")}
    assert {
        "transformation://acme/customers/schema_validation",
        "target://iceberg/bronze/stripe_customers",
        "target://iceberg/bronze/stripe_customers_quarantine",
    } <= downstream
    upstream = {
        e["node"]["id"] for e in tracker.get_upstream_lineage("target://iceberg/bronze/stripe_customers")
    }
    assert upstream == {
        "transformation://acme/customers/schema_validation",
        "source://stripe/customers",
        "asset://stripe/customers@1.0.0",
    }
    # OpenLineage START + COMPLETE, valid against the spec, with data-quality facets
    events = [json.loads(line) for line in (workspace / "ol.jsonl").read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        validate_event(event)
    complete = events[-1]
    quality = complete["inputs"][0]["inputFacets"]["dataQualityMetrics"]
    assert quality["rowCount"] == 54
    assert {c: m["nullCount"] for c, m in quality["columnMetrics"].items()} == {
        "id": 0,
        "email": 1,  # cus_bad001's empty email
        "status": 0,
        "balance": 0,
        "created_at": 0,
    }
    assert any(
        o["outputFacets"].get("outputStatistics", {}).get("rowCount") == 50 for o in complete["outputs"]
    )
    # FinOps run stored with measured usage
    from dativo_ingest.finops import get_recent_runs

    stored = get_recent_runs(tenant_id="acme", limit=5)
    assert any(r.get("run_id") == result.run_id for r in stored)
    assert result.cost_usd is not None and result.cost_usd > 0
    # the contract version was registered
    assert (workspace / "specs" / "stripe" / "v1.0" / "customers.yaml").is_file()


def test_rerunning_the_same_run_adds_no_rows(workspace: Path, customers_job: Path) -> None:
    first = run_job(load_job(customers_job))
    second = run_job(load_job(customers_job))
    assert second.status == "skipped" and second.run_key == first.run_key
    assert second.rows_written == 50  # reported from the committed snapshot
    assert table(workspace).scan().to_arrow().num_rows == 50
    assert table(workspace, "bronze.stripe_customers_quarantine").scan().to_arrow().num_rows == 4


def test_touching_the_input_is_not_new_input_but_changed_bytes_are(
    workspace: Path, customers_job: Path
) -> None:
    import os

    data = workspace / "data" / "customers.csv"
    first = run_job(load_job(customers_job))
    os.utime(data, (first_time := data.stat().st_mtime + 60, first_time))  # `touch`: same bytes
    assert run_job(load_job(customers_job)).status == "skipped"
    assert table(workspace).scan().to_arrow().num_rows == 50
    text = data.read_text()
    data.write_text(text.replace("cus_000049,", "cus_000099,"))  # same size, new bytes
    changed = run_job(load_job(customers_job))
    assert changed.status == "success" and changed.run_key != first.run_key


def test_strict_mode_commits_nothing(workspace: Path, customers_job: Path) -> None:
    job = load_job(customers_job)
    job.validation.mode = "strict"
    with pytest.raises(DataValidationError, match="strict mode; nothing committed"):
        run_job(job)
    assert table(workspace).current_snapshot() is None


def test_incremental_cursor_advances_only_after_commit(workspace: Path) -> None:
    write_contract(workspace)
    data = workspace / "data" / "c.csv"
    write_csv(data, good_rows(0, 10))
    job_path = write_job(
        workspace,
        {"source": {"type": "csv", "path": "../data/c.csv"}, "incremental": {"cursor_field": "created_at"}},
    )
    first = run_job(load_job(job_path))
    assert first.rows_written == 10 and first.cursor == "2024-01-10T00:00:00+00:00"
    write_csv(data, [*good_rows(0, 10), "cus_x1,a@b.c,active,1,2024-01-20T00:00:00Z"])
    second = run_job(load_job(job_path))
    assert (second.rows_read, second.rows_written) == (1, 1)
    state = json.loads((workspace / ".dativo" / "state" / "acme" / "customers.json").read_text())
    assert state["cursor"] == "2024-01-20T00:00:00+00:00"
    # a failing run leaves the cursor where it was
    write_csv(data, ["cus_x2,a@b.c,active,1,2024-01-25T00:00:00Z"])
    job = load_job(job_path)
    job.validation.max_quarantine_ratio = 0.0
    job.validation.mode = "strict"
    bad = workspace / "data" / "c.csv"
    write_csv(bad, ["cus_x3,,active,1,2024-01-26T00:00:00Z"])
    with pytest.raises(DataValidationError):
        run_job(job)
    assert json.loads((workspace / ".dativo" / "state" / "acme" / "customers.json").read_text())[
        "cursor"
    ] == ("2024-01-20T00:00:00+00:00")


def test_new_contract_version_evolves_the_table_compatibly(workspace: Path) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "a.csv", good_rows(0, 5))
    job_path = write_job(workspace, {"source": {"type": "csv", "path": "../data/a.csv"}})
    run_job(load_job(job_path))
    v11 = {
        **CUSTOMERS_CONTRACT,
        "version": "1.1.0",
        "schema": [*CUSTOMERS_CONTRACT["schema"], {"name": "phone", "type": "string"}],
    }
    write_contract(workspace, v11)
    write_csv(workspace / "data" / "a.csv", good_rows(5, 5), header="id,email,status,balance,created_at")
    result = run_job(load_job(job_path))
    assert "added column phone" in result.schema_changes
    tbl = table(workspace)
    assert tbl.scan().to_arrow().num_rows == 10 and "phone" in tbl.schema().column_names
    required = {f.name for f in tbl.schema().fields if f.required}
    assert required == {"id", "email", "created_at"}  # only the new column is optional
    narrowed = {
        **v11,
        "version": "2.0.0",
        "schema": [{**f, "type": "boolean"} if f["name"] == "balance" else f for f in v11["schema"]],
    }
    write_contract(workspace, narrowed)
    write_csv(workspace / "data" / "a.csv", ["cus_z,a@b.c,active,true,2024-01-01T00:00:00Z"])
    with pytest.raises(TargetError, match="incompatible schema change"):
        run_job(load_job(job_path))
    assert table(workspace).scan().to_arrow().num_rows == 10


def test_new_contract_version_widens_an_integer_column(workspace: Path) -> None:
    narrow = {
        **CUSTOMERS_CONTRACT,
        "schema": [
            {**f, "type": "integer"} if f["name"] == "balance" else f for f in CUSTOMERS_CONTRACT["schema"]
        ],
    }
    write_contract(workspace, narrow)
    write_csv(workspace / "data" / "a.csv", good_rows(0, 5))
    job_path = write_job(workspace, {"source": {"type": "csv", "path": "../data/a.csv"}})
    run_job(load_job(job_path))
    assert str(table(workspace).schema().find_field("balance").field_type) == "int"
    write_contract(workspace, {**CUSTOMERS_CONTRACT, "version": "1.1.0"})
    write_csv(workspace / "data" / "a.csv", good_rows(5, 5))
    result = run_job(load_job(job_path))
    assert "widened balance int -> long" in result.schema_changes
    tbl = table(workspace)
    assert (
        str(tbl.schema().find_field("balance").field_type) == "long" and tbl.scan().to_arrow().num_rows == 10
    )


def test_parquet_target_publishes_one_file_per_run_atomically(workspace: Path, customers_job: Path) -> None:
    job = load_job(customers_job)
    job.target.type, job.target.path = "parquet", "../out"
    result = run_job(job)
    files = sorted((workspace / "out").glob("*.parquet"))
    assert len(files) == 1 and pq.read_table(files[0]).num_rows == 50
    assert pq.read_table(next((workspace / "out" / "_quarantine").glob("*.parquet"))).num_rows == 4
    again = run_job(load_job(customers_job).model_copy(update={"target": job.target}))
    assert again.status == "skipped" and again.run_key == result.run_key
    assert not list((workspace / "out").glob(".*.tmp"))


def test_workspace_default_paths(workspace: Path) -> None:
    assert Workspace.current().warehouse == workspace / "warehouse"


@pytest.mark.dbt
def test_dbt_build_is_green_on_the_ingested_table(workspace: Path, customers_job: Path) -> None:
    from dativo_ingest.demo.samples import STRIPE_CUSTOMERS
    from tests.dbt.dbt_runner import run_dbt

    job = load_job(customers_job)
    job.dbt.refresh = True
    result = run_job(job)
    assert result.dbt and result.dbt["contracts"] == 1
    assert STRIPE_CUSTOMERS  # the demo uses the same path; see test_demo
    run = run_dbt(workspace / "dbt", "build")
    assert run.success, run.warnings
    assert not run.failed()
