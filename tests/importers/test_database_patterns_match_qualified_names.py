"""``--include``/``--exclude`` match a database table by its name or by ``schema.table``, as documented."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.importers.helpers import run


@pytest.fixture
def pg_two_tables(postgres_url: str) -> Iterator[str]:
    schema = f"t_import_pat_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
        connection.execute(text(f"CREATE TABLE {schema}.orders (id int PRIMARY KEY)"))
        connection.execute(text(f"CREATE TABLE {schema}.order_tmp (id int)"))
    yield schema
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.mark.postgres
def test_qualified_patterns_select_database_tables(
    pg_two_tables: str, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ("--from", "postgres", postgres_url, "--schema", pg_two_tables, "--json")
    code, out, err = run(capsys, *base, "--include", f"{pg_two_tables}.order*")
    assert code == 0, err
    assert [c["object"] for c in json.loads(out)] == ["order_tmp", "orders"]
    code, out, err = run(capsys, *base, "--exclude", f"{pg_two_tables}.*_tmp")
    assert code == 0, err
    assert [c["object"] for c in json.loads(out)] == ["orders"]
    code, out, err = run(capsys, *base, "--include", "other_schema.order*")
    assert code == 2
    assert "matches other_schema.order*" in err
