"""UUID columns (PostgreSQL ``uuid``, Parquet's UUID logical type) import as ``uuid`` fields and profile
like text: ``--profile`` does not stop at them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text

from tests.importers.helpers import field, import_all_formats, run

IDS = [uuid.UUID(int=i) for i in range(1, 4)]


@pytest.fixture
def pg_uuid_table(postgres_url: str) -> Iterator[str]:
    schema = f"t_import_uuid_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
        connection.execute(text(f"CREATE TABLE {schema}.accounts (id uuid PRIMARY KEY, owner uuid)"))
        for i in IDS:
            connection.execute(
                text(f"INSERT INTO {schema}.accounts VALUES (:id, :owner)"), {"id": i, "owner": IDS[0]}
            )
    yield schema
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.mark.postgres
def test_profiling_a_postgres_uuid_column(
    pg_uuid_table: str, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--from", "postgres", postgres_url, "--schema", pg_uuid_table, "--profile", "--json")
    code, out, err = run(capsys, *args)
    assert code == 0, err
    proposals = {(p["column"], p["check"]): p for p in json.loads(out)[0]["proposals"]}
    assert proposals[("owner", "required")]["evidence"]["rows"] == 3
    assert ("owner", "unique") not in proposals  # one owner for every row
    assert ("id", "unique") not in proposals  # already the primary key


def test_parquet_uuid_column_imports_as_uuid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    table = pa.table({"id": pa.array([i.bytes for i in IDS], pa.uuid())})
    pq.write_table(table, drop / "accounts.parquet")
    docs = import_all_formats(capsys, tmp_path / "out", "--from", "parquet", str(drop))
    assert field(docs["accounts.yaml"], "id")["type"] == "uuid"
    code, out, err = run(capsys, "--from", "parquet", str(drop), "--profile", "--json")
    assert code == 0, err
    checks = {p["check"] for p in json.loads(out)[0]["proposals"]}
    assert {"required", "unique"} <= checks
