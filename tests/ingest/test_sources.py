"""Sources read real files, a real HTTP server on 127.0.0.1, and the real PostgreSQL / MariaDB."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.sources import Incremental, SourceContext, build_source
from dativo_ingest.ingest.sources.prefetch import prefetch
from tests.ingest.helpers import PagedCustomersApi

COLUMNS = {"id": pa.string(), "n": pa.int64(), "ts": pa.timestamp("us", tz="UTC")}


def read_all(source) -> pa.Table:
    rows = [row for batch in source.batches() for row in batch.to_pylist()]
    return pa.Table.from_pylist(rows) if rows else pa.table({})


def ctx(tmp_path: Path, **kw) -> SourceContext:
    return SourceContext(tmp_path, dict(COLUMNS), kw.pop("batch_size", 1000), kw.pop("incremental", None))


def test_csv_glob_reads_text_and_empty_fields_become_null(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_text('id,n,ts,extra\nx,1,2024-01-01,z\n"",,2024-01-02,z\n')
    with gzip.open(tmp_path / "d" / "b.csv.gz", "wt") as handle:
        handle.write("n,id\n3,y\n")
    source = build_source("csv", {"path": "d/*.csv*"}, ctx(tmp_path))
    table = read_all(source)
    assert table.column("id").to_pylist() == ["x", None, "y"]
    assert table.column("n").to_pylist() == ["1", None, "3"]
    assert "extra" not in table.column_names
    assert any("no column ts" in w for w in source.stats.warnings)
    assert source.fingerprint() == build_source("csv", {"path": "d/*.csv*"}, ctx(tmp_path)).fingerprint()


def test_csv_small_blocks_are_regrouped_into_batches_in_order(tmp_path: Path) -> None:
    lines = [f"row{i:07d},{i},2024-01-01" for i in range(120_000)]  # ~2.7 MB: three 1 MB blocks
    (tmp_path / "big.csv").write_text("id,n,ts\n" + "\n".join(lines) + "\n")
    source = build_source("csv", {"path": "big.csv", "block_size_mb": 1}, ctx(tmp_path, batch_size=100_000))
    batches = list(source.batches())
    assert batches[0].num_rows >= 100_000
    assert sum(b.num_rows for b in batches) == 120_000 and len(batches) == 2
    ids = [v for b in batches for v in b.column("id").to_pylist()]
    assert ids == [f"row{i:07d}" for i in range(120_000)]


def test_prefetch_keeps_order_reraises_errors_and_stops_when_closed() -> None:
    assert list(prefetch(iter(range(100)))) == list(range(100))

    def failing():
        yield 1
        raise SourceError("boom", path="x.csv")

    items = prefetch(failing())
    assert next(items) == 1
    with pytest.raises(SourceError, match="boom"):
        next(items)
    produced: list[int] = []

    def endless():
        while True:
            produced.append(len(produced))
            yield produced[-1]

    items = prefetch(endless(), depth=2)
    assert next(items) == 0
    items.close()
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count <= 5  # at most the queue's depth ahead, nothing after closing


def test_missing_files_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no file matches"):
        read_all(build_source("csv", {"path": "nothing/*.csv"}, ctx(tmp_path)))


def test_jsonl_mixed_kinds_become_text_and_bad_lines_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a", "n": 1}\n\n{"id": "b", "n": "two", "ts": 1700000000}\n')
    batches = list(build_source("jsonl", {"path": "a.jsonl"}, ctx(tmp_path, batch_size=1)).batches())
    assert [b.column("n").to_pylist() for b in batches] == [[1], ["two"]]
    path.write_text('{"id": "a"}\nnot json\n')
    with pytest.raises(SourceError) as err:
        read_all(build_source("jsonl", {"path": "a.jsonl"}, ctx(tmp_path)))
    assert err.value.line == 2


def test_parquet_streams_only_contract_columns_and_filters_after_the_cursor(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"id": ["a", "b", "c"], "n": [1, 5, 9], "other": [0, 0, 0]}),
        tmp_path / "p.parquet",
        row_group_size=1,
    )
    incremental = Incremental("n", pa.int64(), since=4)
    table = read_all(build_source("parquet", {"path": "p.parquet"}, ctx(tmp_path, incremental=incremental)))
    assert table.column("id").to_pylist() == ["b", "c"]
    assert "other" not in table.column_names


def test_http_pages_with_cursor_and_retries_429_then_succeeds(tmp_path: Path, api_server: str) -> None:
    options = {
        "url": api_server,
        "headers": {"Authorization": "Bearer tok_secret_123"},
        "pagination": {"page_size": 3},
        "backoff_seconds": 0.01,
    }
    source = build_source("http", options, ctx(tmp_path, batch_size=4))
    table = read_all(source)
    assert table.column("id").to_pylist() == [f"cus_{i}" for i in range(1, 8)]
    assert source.stats.api_calls == 4  # one 429 + three pages
    assert (
        "starting_after=cus_3" in PagedCustomersApi.calls[2]
        and "starting_after=cus_6" in PagedCustomersApi.calls[3]
    )


def test_http_gives_up_after_retries_and_fails_fast_on_4xx(tmp_path: Path, api_server: str) -> None:
    PagedCustomersApi.fail_first = 10
    options = {"url": api_server, "max_retries": 2, "backoff_seconds": 0.0}
    with pytest.raises(SourceError, match="HTTP 429 after 3 attempts"):
        read_all(build_source("http", options, ctx(tmp_path)))
    PagedCustomersApi.fail_first = 0
    with pytest.raises(SourceError, match="HTTP 401"):
        read_all(build_source("http", {"url": api_server}, ctx(tmp_path)))


def test_http_timeout_is_retried_then_reported(tmp_path: Path) -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/x"
    try:
        with pytest.raises(SourceError, match=r"ReadTimeout.* after 2 attempts"):
            read_all(
                build_source(
                    "http",
                    {"url": url, "timeout_seconds": 0.2, "max_retries": 1, "backoff_seconds": 0},
                    ctx(tmp_path),
                )
            )
    finally:
        listener.close()


def _sql_table(url: str, create: str, rows: list[tuple]) -> None:
    from sqlalchemy import create_engine, text

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS dativo_src_test"))
        conn.execute(text(create))
        for row in rows:
            conn.execute(
                text("INSERT INTO dativo_src_test (id, n, ts) VALUES (:id, :n, :ts)"),
                {"id": row[0], "n": row[1], "ts": row[2]},
            )
    engine.dispose()


def _sql_roundtrip(kind: str, url: str, create: str, tmp_path: Path) -> None:
    rows = [(f"r{i}", i, f"2024-01-01 00:00:{i:02d}") for i in range(25)]
    _sql_table(url, create, rows)
    source = build_source(kind, {"url": url, "table": "dativo_src_test"}, ctx(tmp_path, batch_size=10))
    batches = list(source.numbered_batches())
    assert [b.num_rows for b in batches] == [10, 10, 5]
    # a rejected row is named by its 1-based row number in the run
    assert [p.where for p in source.locate(batches[1], np.array([0, 9]))] == ["row 11", "row 20"]
    incremental = Incremental("n", pa.int64(), since=20)
    source = build_source(
        kind,
        {"url": url, "query": "SELECT id, n, ts FROM dativo_src_test"},
        ctx(tmp_path, incremental=incremental),
    )
    assert read_all(source).column("n").to_pylist() == [20, 21, 22, 23, 24]  # inclusive: see boundary.py
    with pytest.raises(SourceError, match="query failed"):
        read_all(build_source(kind, {"url": url, "query": "SELECT nope FROM dativo_src_test"}, ctx(tmp_path)))


@pytest.mark.postgres
def test_postgres_streams_tables_and_queries(tmp_path: Path, postgres_url: str) -> None:
    _sql_roundtrip(
        "postgres", postgres_url, "CREATE TABLE dativo_src_test (id text, n bigint, ts timestamptz)", tmp_path
    )


@pytest.mark.mysql
def test_mysql_streams_tables_and_queries(tmp_path: Path, mysql_url: str) -> None:
    _sql_roundtrip(
        "mysql", mysql_url, "CREATE TABLE dativo_src_test (id varchar(20), n bigint, ts datetime)", tmp_path
    )


def test_http_errors_never_show_secrets_of_the_url(
    workspace: Path, api_server: str, monkeypatch, capsys
) -> None:
    from dativo_ingest.cli.app import main
    from tests.ingest.helpers import write_contract, write_job

    PagedCustomersApi.fail_first = 0  # the server answers 401: no Authorization header
    monkeypatch.setenv("SOURCE_TOKEN", "TopSecret99tok")
    write_contract(workspace)
    url = api_server + "?api_key=${SOURCE_TOKEN}&token=literalTok42"
    job = write_job(workspace, {"source": {"type": "http", "url": url}, "lineage": {"enabled": False}})
    with pytest.raises(SourceError) as caught:
        run_job(load_job(job))
    assert "HTTP 401" in str(caught.value)
    assert "TopSecret99tok" not in str(caught.value) and "literalTok42" not in str(caught.value)
    assert main(["run", "--config", str(job)]) == 1
    captured = capsys.readouterr()
    assert "HTTP 401" in captured.err
    assert "TopSecret99tok" not in captured.err + captured.out
    assert "literalTok42" not in captured.err + captured.out
