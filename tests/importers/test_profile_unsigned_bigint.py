"""Profiling a MariaDB ``BIGINT UNSIGNED`` column whose values pass the signed 64-bit range works: the
observed range is the real one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.importers.helpers import run

BIG = 18_000_000_000_000_000_000


@pytest.fixture
def unsigned_table(mysql_url: str) -> Iterator[str]:
    name = f"t_import_u64_{uuid.uuid4().hex[:8]}"
    engine = create_engine(mysql_url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {name} (id INT PRIMARY KEY, big BIGINT UNSIGNED)"))
        connection.execute(text(f"INSERT INTO {name} VALUES (1, 7), (2, {BIG})"))
    yield name
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
    engine.dispose()


@pytest.mark.mysql
def test_unsigned_bigint_profiles(
    unsigned_table: str, mysql_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "--from", "mysql", mysql_url, "--table", unsigned_table, "--profile", "--json"
    )
    assert code == 0, err
    proposals = {(p["column"], p["check"]): p for p in json.loads(out)[0]["proposals"]}
    assert proposals[("big", "range")]["observed_maximum"] == BIG
    assert proposals[("big", "range")]["observed_minimum"] == 7
