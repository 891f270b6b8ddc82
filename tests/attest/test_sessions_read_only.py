"""``contract test`` reads in read-only sessions: a --filter that calls a writing function (the filter
is a predicate, and a predicate may call functions) fails with exit 2 instead of changing the database."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dativo_ingest.cli.app import main
from tests.attest.conftest import write_contract


@pytest.mark.postgres
def test_a_filter_cannot_advance_a_sequence(workspace: Path, postgres_url: str, capsys) -> None:
    name = f"t_ro_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE {name} (id INT)"))
            conn.execute(text(f"INSERT INTO {name} VALUES (1)"))
            conn.execute(text(f"CREATE SEQUENCE {name}_seq"))
        url = engine.url
        server = {"server": "db", "type": "postgres", "host": url.host, "port": url.port or 5432}
        server |= {"database": url.database, "username": url.username or "postgres"}
        contract = write_contract(workspace, name, [server])
        code = main(["contract", "test", str(contract), "--filter", f"nextval('{name}_seq') > 0"])
        assert code == 2 and "read-only" in capsys.readouterr().err
        with engine.begin() as conn:
            assert conn.execute(text(f"SELECT is_called FROM {name}_seq")).scalar() is False
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
            conn.execute(text(f"DROP SEQUENCE IF EXISTS {name}_seq"))
        engine.dispose()
