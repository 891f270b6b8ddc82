"""A shared Iceberg catalog: the SQL catalog on PostgreSQL, the warehouse on S3 (moto's real S3 server on
127.0.0.1). Runs, quarantine, schema evolution, idempotent re-runs, four writers committing to one table at
once, secrets kept out of every output."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
import sqlalchemy as sa

from dativo_ingest.cli.app import main
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.catalog import load_catalog_for
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.workspace import Workspace
from tests.ingest.helpers import CUSTOMERS_CONTRACT, good_rows, write_contract, write_csv, write_job

SECRET = "s3cr3t-" + uuid.uuid4().hex  # the S3 secret key: must never be printed
ACCESS_KEY = "AKIA" + uuid.uuid4().hex[:16].upper()
BAD_ROWS = [
    "cus_bad001,,active,1,2024-01-01T00:00:00Z",
    "cus_bad002,x@example.com,bogus,1,2024-01-01T00:00:00Z",
]


@dataclass
class SharedCatalog:
    """One test's catalog: a PostgreSQL schema of its own, a bucket of its own, the env the job reads."""

    uri: str
    bucket: str
    endpoint: str
    env: dict[str, str]

    @property
    def target(self) -> dict[str, Any]:
        return {
            "type": "iceberg",
            "namespace": "bronze",
            "catalog": {
                "type": "sql",
                "name": "shared",
                "uri": "${DATIVO_TEST_CATALOG_URI}",
                "warehouse": f"s3://{self.bucket}/lake",
                "s3": {
                    "endpoint": "${DATIVO_TEST_S3_ENDPOINT}",
                    "region": "us-east-1",
                    "access_key_id": "${DATIVO_TEST_S3_KEY}",
                    "secret_access_key": "${DATIVO_TEST_S3_SECRET}",
                    "path_style": True,
                },
            },
        }

    def config(self) -> CatalogConfig:
        return CatalogConfig.model_validate(
            {
                **self.target["catalog"],
                "uri": self.uri,
                "s3": {**self.target["catalog"]["s3"], **self._s3_values()},
            }
        )

    def _s3_values(self) -> dict[str, str]:
        return {"endpoint": self.endpoint, "access_key_id": ACCESS_KEY, "secret_access_key": SECRET}

    def table(self, name: str = "bronze.stripe_customers") -> Any:
        return load_catalog_for(self.config(), Path("unused")).load_table(name)

    def keys(self) -> list[str]:
        s3 = _client(self.endpoint)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )


@pytest.fixture
def shared(postgres_url: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SharedCatalog]:
    """A fresh schema ``t_shared_<hex>`` on the test PostgreSQL and a fresh bucket on moto; both dropped."""
    suffix = uuid.uuid4().hex[:10]
    schema, bucket = f"t_shared_{suffix}", f"lake-{suffix}"
    engine = sa.create_engine("postgresql+psycopg://" + postgres_url.split("://", 1)[1])
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    _client(s3_endpoint).create_bucket(Bucket=bucket)
    uri = f"{postgres_url}?options=-csearch_path%3D{schema}"
    env = {
        "DATIVO_TEST_CATALOG_URI": uri,
        "DATIVO_TEST_S3_ENDPOINT": s3_endpoint,
        "DATIVO_TEST_S3_KEY": ACCESS_KEY,
        "DATIVO_TEST_S3_SECRET": SECRET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        yield SharedCatalog(uri, bucket, s3_endpoint, env)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def shared_job(root: Path, catalog: SharedCatalog, rows: list[str], **body: Any) -> Path:
    write_contract(root, body.pop("contract", None))
    name = body.pop("name", "customers")
    write_csv(root / "data" / f"{name}.csv", rows)
    return write_job(
        root,
        {
            "name": name,
            "source": {"type": "csv", "path": f"../data/{name}.csv"},
            "target": catalog.target,
            **body,
        },
        name=f"{name}.yaml",
    )


def test_a_run_lands_rows_and_quarantine_on_object_storage_through_the_postgres_catalog(
    workspace: Path, shared: SharedCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    job = shared_job(workspace, shared, good_rows(0, 40) + BAD_ROWS)
    assert main(["run", "--config", str(job), "--json"]) == 0
    output = capsys.readouterr()
    result = json.loads(output.out)
    assert (result["rows_read"], result["rows_written"], result["rows_quarantined"]) == (42, 40, 2)

    table = shared.table()
    assert table.location().startswith(f"s3://{shared.bucket}/lake/")
    assert table.scan().to_arrow().num_rows == 40
    assert table.current_snapshot().summary["dativo.run-key"] == result["run_key"]
    quarantine = shared.table("bronze.stripe_customers_quarantine").scan().to_arrow().to_pylist()
    assert sorted(json.loads(r["record"])["id"] for r in quarantine) == ["cus_bad001", "cus_bad002"]
    assert quarantine[0]["failed_rules"]

    keys = shared.keys()
    data = [k for k in keys if k.endswith(".parquet")]
    assert any("/stripe_customers/data/" in k for k in data)
    assert any("/stripe_customers_quarantine/data/" in k for k in data)
    assert any(k.endswith(".metadata.json") for k in keys)
    local = workspace / "warehouse"
    assert not local.exists() or not list(local.rglob("*.parquet")), "data files must not land locally"
    assert SECRET not in output.out + output.err and ACCESS_KEY not in output.out + output.err

    # the same input again: found by its run key in the shared catalog, nothing added
    assert main(["run", "--config", str(job), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "skipped"
    assert len(shared.table().metadata.snapshots) == 1


def test_a_new_contract_version_evolves_the_shared_table(workspace: Path, shared: SharedCatalog) -> None:
    first = run_job(load_job(shared_job(workspace, shared, good_rows(0, 10))))
    assert first.rows_written == 10
    wider = {
        **CUSTOMERS_CONTRACT,
        "version": "1.1.0",
        "schema": [*CUSTOMERS_CONTRACT["schema"], {"name": "country", "type": "string"}],
    }
    rows = [f"{r},DE" for r in good_rows(10, 5)]
    write_contract(workspace, wider)
    write_csv(workspace / "data" / "customers.csv", rows, header="id,email,status,balance,created_at,country")
    second = run_job(load_job(workspace / "jobs" / "customers.yaml"))
    assert "added column country" in second.schema_changes
    table = shared.table()
    assert table.schema().find_field("country").required is False
    values = table.scan(selected_fields=("id", "country")).to_arrow().to_pylist()
    assert len(values) == 15 and sum(v["country"] == "DE" for v in values) == 5


class _ConflictCounter(logging.Handler):
    """Counts the commit-conflict retries logged in a writer process (pyiceberg's and the target's)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "concurrent update" in message or "commit conflict" in message:
            self.count += 1


def _run_in_process(home: str, job_path: str, env: dict[str, str], barrier: Any, out: Any) -> None:
    """One writer: its own workspace (a node of its own), the shared catalog; waits at the barrier once
    its rows are staged, so that every writer commits at the same moment."""
    os.environ.update(env)
    os.environ["DATIVO_HOME"] = home
    waited: list[int] = []
    conflicts = _ConflictCounter()
    logging.getLogger().addHandler(conflicts)
    logging.getLogger().setLevel(logging.INFO)

    def at_barrier(_read: int, _quarantined: int) -> None:
        if not waited:
            waited.append(barrier.wait(timeout=120))

    try:
        result = run_job(load_job(job_path), workspace=Workspace(Path(home)), progress=at_barrier)
        out.put({**result.to_dict(), "conflicts": conflicts.count})
    except Exception as exc:  # reported to the test, which fails on it
        out.put({"status": "crashed", "error": f"{exc.__class__.__name__}: {exc}"})
    finally:
        MetadataStore.dispose_all()


def test_four_processes_commit_to_one_table_at_once_and_no_commit_is_lost(
    tmp_path: Path, shared: SharedCatalog
) -> None:
    writers, rows_each = 4, 250
    jobs = []
    for n in range(writers):
        home = tmp_path / f"node{n}"
        home.mkdir()
        rows = [*good_rows(n * rows_each, rows_each), f"cus_bad{n},,active,1,2024-01-01T00:00:00Z"]
        jobs.append((home, shared_job(home, shared, rows, name=f"part{n}")))
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(writers), context.Queue()
    processes = [
        context.Process(target=_run_in_process, args=(str(h), str(j), shared.env, barrier, results))
        for h, j in jobs
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert [o["status"] for o in outcomes] == ["success"] * writers, outcomes

    table = shared.table()
    runs = {s.summary["dativo.run-key"] for s in table.metadata.snapshots}
    assert runs == {o["run_key"] for o in outcomes}, "every writer's commit is in the table's history"
    assert table.scan().to_arrow().num_rows == writers * rows_each == sum(o["rows_written"] for o in outcomes)
    ids = table.scan(selected_fields=("id",)).to_arrow().column("id").to_pylist()
    assert len(set(ids)) == writers * rows_each
    quarantine = shared.table("bronze.stripe_customers_quarantine").scan().to_arrow()
    assert quarantine.num_rows == writers == sum(o["rows_quarantined"] for o in outcomes)
    assert sum(o["rows_read"] for o in outcomes) == writers * (rows_each + 1)
    # the writers did race (the barrier makes them commit together), and the losers retried
    assert sum(o["conflicts"] for o in outcomes) >= 1, "no commit conflict: the test did not test retries"


def test_a_missing_bucket_fails_in_one_line_without_the_keys(
    workspace: Path, shared: SharedCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    target = shared.target
    target["catalog"]["warehouse"] = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/lake"
    job = shared_job(workspace, shared, good_rows(0, 3), target=target)
    assert main(["run", "--config", str(job)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and err.count("\n") == 0, err
    assert "no-such-bucket" in err
    assert SECRET not in err and ACCESS_KEY not in err


@pytest.mark.dbt
def test_the_dbt_project_reads_the_shared_tables_with_keys_from_the_environment(
    workspace: Path, shared: SharedCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.dbt.dbt_runner import run_dbt

    job = shared_job(workspace, shared, good_rows(0, 12) + BAD_ROWS)
    assert run_job(load_job(job)).rows_written == 12
    assert main(["dbt", "generate", "--catalog-from", str(job), "--json"]) == 0
    capsys.readouterr()
    profile = (workspace / "dbt" / "profiles.yml").read_text(encoding="utf-8")
    assert "env_var('DATIVO_TEST_S3_SECRET')" in profile and "env_var('DATIVO_TEST_CATALOG_URI')" in profile
    assert SECRET not in profile and ACCESS_KEY not in profile and shared.endpoint not in profile
    run = run_dbt(workspace / "dbt", "build")
    assert run.success, (run.exception, run.failed())
    with duckdb.connect(str(workspace / "dbt" / "dativo.duckdb")) as con:
        assert con.execute("select count(*) from main.stg_stripe__customers").fetchone() == (12,)
