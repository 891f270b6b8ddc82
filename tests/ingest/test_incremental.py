"""Incremental runs against PostgreSQL, MariaDB and a local HTTP API: new rows keep arriving."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from tests.ingest.helpers import JsonApi, serving, write_contract, write_job

TABLE = "dativo_incr_test"


def ids_in_table(workspace: Path) -> list[str]:
    tbl = load_catalog_for(CatalogConfig(), workspace / "warehouse").load_table("bronze.stripe_customers")
    return sorted(tbl.scan().to_arrow().column("id").to_pylist())


def row(i: int, day: int, email: str | None = None) -> dict:
    return {
        "id": f"cus_{i}",
        "email": email if email is not None else f"u{i}@example.com",
        "status": "active",
        "balance": i,
        "created_at": f"2024-01-{day:02d}T00:00:00+00:00",
    }


# ----- SQL ----------------------------------------------------------------------------------------
def _engine(url: str):
    from sqlalchemy import create_engine

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url)


def _create(url: str, ts_type: str) -> None:
    from sqlalchemy import text

    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
        conn.execute(
            text(
                f"CREATE TABLE {TABLE} (id varchar(20), email varchar(80), status varchar(20), "
                f"balance bigint, created_at {ts_type})"
            )
        )
    engine.dispose()


def _insert(url: str, rows: list[dict]) -> None:
    from sqlalchemy import text

    engine = _engine(url)
    with engine.begin() as conn:
        for r in rows:
            values = {**r, "created_at": r["created_at"][:19].replace("T", " ")}
            conn.execute(
                text(
                    f"INSERT INTO {TABLE} (id, email, status, balance, created_at) "
                    "VALUES (:id, :email, :status, :balance, :created_at)"
                ),
                values,
            )
    engine.dispose()


def _sql_job(workspace: Path, kind: str, url: str) -> Path:
    write_contract(workspace)
    return write_job(
        workspace,
        {
            "source": {"type": kind, "url": url, "table": TABLE},
            "incremental": {"cursor_field": "created_at"},
            "lineage": {"enabled": False},
        },
    )


def _keeps_ingesting_after_an_empty_run(workspace: Path, job: Path, insert) -> None:
    insert([row(1, 1), row(2, 2)])
    first = run_job(load_job(job))
    assert (first.status, first.rows_written) == ("success", 2)
    for _ in range(2):  # nothing new: read, nothing written, never "skipped"
        again = run_job(load_job(job))
        assert (again.status, again.rows_read, again.rows_written) == ("success", 0, 0)
    insert([row(3, 3)])
    later = run_job(load_job(job))
    assert (later.status, later.rows_written) == ("success", 1)
    insert([row(4, 3)])  # arrives late, with exactly the committed cursor's timestamp
    late = run_job(load_job(job))
    assert (late.rows_read, late.rows_written) == (1, 1)
    assert run_job(load_job(job)).rows_read == 0
    assert ids_in_table(workspace) == ["cus_1", "cus_2", "cus_3", "cus_4"]


@pytest.mark.postgres
def test_postgres_incremental_keeps_reading_new_rows(workspace: Path, postgres_url: str) -> None:
    url = postgres_url
    _create(url, "timestamptz")
    _keeps_ingesting_after_an_empty_run(
        workspace, _sql_job(workspace, "postgres", url), lambda rows: _insert(url, rows)
    )


@pytest.mark.mysql
def test_mysql_incremental_keeps_reading_new_rows(workspace: Path, mysql_url: str) -> None:
    url = mysql_url
    _create(url, "datetime")
    _keeps_ingesting_after_an_empty_run(
        workspace, _sql_job(workspace, "mysql", url), lambda rows: _insert(url, rows)
    )


@pytest.mark.postgres
def test_sql_cursor_is_recovered_from_the_table_when_the_state_file_lags(
    workspace: Path, postgres_url: str
) -> None:
    url = postgres_url
    _create(url, "timestamptz")
    job = _sql_job(workspace, "postgres", url)
    _insert(url, [row(1, 1)])
    run_job(load_job(job))
    state = workspace / ".dativo" / "state" / "acme" / "customers.json"
    state.unlink()  # as if the run died between the commit and the state write
    _insert(url, [row(2, 2)])
    assert run_job(load_job(job)).rows_written == 1
    assert ids_in_table(workspace) == ["cus_1", "cus_2"]


# ----- HTTP ---------------------------------------------------------------------------------------
class _Customers(JsonApi):
    """A Stripe-like list endpoint over ``records``; honours ``created[gt]`` / ``created[gte]``."""

    records: list[dict] = []

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        rows = list(_Customers.records)
        for param, keep in (("created[gt]", lambda a, b: a > b), ("created[gte]", lambda a, b: a >= b)):
            if param in query:
                bound = int(query[param][0])
                rows = [r for r in rows if keep(_epoch(r["created_at"]), bound)]
        self.send_json({"data": rows, "has_more": False})


def _epoch(value: str) -> int:
    return int(datetime.fromisoformat(value).astimezone(UTC).timestamp())


@pytest.fixture
def customers_api():
    _Customers.records = []
    with serving(_Customers) as base:
        yield f"{base}/v1/customers"


def test_http_incremental_keeps_reading_new_rows(workspace: Path, customers_api: str) -> None:
    write_contract(workspace)
    job = write_job(
        workspace,
        {
            "source": {"type": "http", "url": customers_api, "incremental_param": "created[gte]"},
            "incremental": {"cursor_field": "created_at"},
            "lineage": {"enabled": False},
        },
    )
    _keeps_ingesting_after_an_empty_run(workspace, job, _Customers.records.extend)


# ----- the cursor covers quarantined rows ---------------------------------------------------------
def test_cursor_passes_quarantined_rows_so_they_are_not_read_again(workspace: Path) -> None:
    from tests.ingest.helpers import write_csv

    write_contract(workspace)
    write_csv(
        workspace / "data" / "c.csv",
        [
            "cus_1,a@example.com,active,1,2024-01-01T00:00:00Z",
            "cus_1,b@example.com,active,1,2024-01-05T00:00:00Z",  # duplicate id: quarantined
        ],
    )
    job = write_job(
        workspace,
        {"source": {"type": "csv", "path": "../data/c.csv"}, "incremental": {"cursor_field": "created_at"}},
    )
    first = run_job(load_job(job))
    assert (first.rows_written, first.rows_quarantined) == (1, 1)
    assert first.cursor == "2024-01-05T00:00:00+00:00"
    second = run_job(load_job(job))
    assert (second.rows_read, second.rows_written) == (0, 0)
    assert ids_in_table(workspace) == ["cus_1"]


def test_rows_at_the_cursor_value_are_neither_lost_nor_read_twice_without_a_key(workspace: Path) -> None:
    from tests.ingest.helpers import CUSTOMERS_CONTRACT, write_csv

    keyless = {
        **CUSTOMERS_CONTRACT,
        "schema": [{**f, "unique": False} for f in CUSTOMERS_CONTRACT["schema"]],
    }
    write_contract(workspace, keyless)
    data = workspace / "data" / "c.csv"
    day3 = "2024-01-03T00:00:00Z"
    write_csv(data, [f"cus_1,a@example.com,active,1,{day3}"])
    job = write_job(
        workspace,
        {"source": {"type": "csv", "path": "../data/c.csv"}, "incremental": {"cursor_field": "created_at"}},
    )
    assert run_job(load_job(job)).rows_written == 1
    write_csv(data, [f"cus_1,a@example.com,active,1,{day3}", f"cus_2,b@example.com,active,2,{day3}"])
    second = run_job(load_job(job))
    assert (second.rows_read, second.rows_written) == (1, 1)
    write_csv(data, [f"cus_1,a@example.com,active,1,{day3}", f"cus_2,b@example.com,active,2,{day3}", ""])
    assert run_job(load_job(job)).rows_read == 0
    assert ids_in_table(workspace) == ["cus_1", "cus_2"]


# ----- a source without a required column fails up front ------------------------------------------
@pytest.mark.postgres
def test_query_without_a_required_column_fails_naming_it(workspace: Path, postgres_url: str) -> None:
    from dativo_ingest.errors import SourceError

    url = postgres_url
    _create(url, "timestamptz")
    _insert(url, [row(1, 1)])
    write_contract(workspace)
    job = write_job(
        workspace,
        {"source": {"type": "postgres", "url": url, "query": f"SELECT id, created_at FROM {TABLE}"}},
    )
    with pytest.raises(SourceError, match="query: no column email, required by the contract"):
        run_job(load_job(job))
    ok = write_job(  # optional columns missing: a warning, the run goes on
        workspace,
        {"source": {"type": "postgres", "url": url, "query": f"SELECT id, email, created_at FROM {TABLE}"}},
        name="ok.yaml",
    )
    result = run_job(load_job(ok))
    assert result.rows_written == 1
    assert "query: no column status, balance (read as missing)" in result.warnings


def test_csv_without_a_required_column_fails_naming_file_and_column(workspace: Path) -> None:
    from dativo_ingest.errors import SourceError
    from tests.ingest.helpers import write_csv

    write_contract(workspace)
    write_csv(
        workspace / "data" / "c.csv", ["cus_1,active,2024-01-01T00:00:00Z"], header="id,status,created_at"
    )
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})
    with pytest.raises(SourceError, match=r"c\.csv: no column email, required by the contract"):
        run_job(load_job(job))
