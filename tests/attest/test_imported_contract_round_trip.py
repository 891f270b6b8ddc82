"""Item 4's round trip: a table imported with ``contract import``, saved with ``contract save`` and tested
with ``contract test`` passes; rows that break its constraints later fail with exact counts."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dativo_ingest.cli.app import main


def _round_trip(url: str, table: str, workspace: Path, capsys, loosen: list[str]) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE {table} (id INT PRIMARY KEY, status VARCHAR(10) NOT NULL)"))
            conn.execute(text(f"INSERT INTO {table} VALUES (1, 'paid'), (2, 'open')"))
        out = workspace / "imported"
        source = ["--from", url.split("+")[0].split(":")[0].replace("postgresql", "postgres"), url]
        assert (
            main(["contract", "import", *source, "--table", table, "--out", str(out), "--owner", "a@b.co"])
            == 0
        )
        (contract,) = sorted(out.glob("*.yaml"))
        assert main(["contract", "save", str(contract), "--specs", str(workspace / "specs")]) == 0
        capsys.readouterr()
        assert main(["contract", "test", str(contract), "--json"]) == 0, capsys.readouterr().err

        with engine.begin() as conn:
            for statement in loosen:
                conn.execute(text(statement.format(table=table)))
            conn.execute(text(f"INSERT INTO {table} VALUES (1, NULL), (3, 'far too long')"))
        capsys.readouterr()
        assert main(["contract", "test", str(contract), "--json"]) == 1
        failed = {c["id"]: c["failed"] for c in json.loads(capsys.readouterr().out)["checks"]}
        assert failed == {"not_null:id": 0, "unique:id": 1, "not_null:status": 1, "length:status": 1}
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


@pytest.mark.postgres
def test_a_postgres_table_imported_saved_and_tested(workspace: Path, postgres_url: str, capsys) -> None:
    table = f"t_rt_{uuid.uuid4().hex[:8]}"
    loosen = [
        "ALTER TABLE {table} DROP CONSTRAINT {table}_pkey",
        "ALTER TABLE {table} ALTER COLUMN status DROP NOT NULL, ALTER COLUMN status TYPE VARCHAR(20)",
    ]
    _round_trip(postgres_url, table, workspace, capsys, loosen)


@pytest.mark.mysql
def test_a_mysql_table_imported_saved_and_tested(workspace: Path, mysql_url: str, capsys) -> None:
    table = f"t_rt_{uuid.uuid4().hex[:8]}"
    loosen = ["ALTER TABLE {table} DROP PRIMARY KEY", "ALTER TABLE {table} MODIFY status VARCHAR(20) NULL"]
    _round_trip(mysql_url, table, workspace, capsys, loosen)


def test_a_csv_file_imported_into_another_folder_is_tested(workspace: Path, capsys) -> None:
    (workspace / "drop").mkdir()
    (workspace / "drop" / "orders.csv").write_text("id,status\n1,paid\n2,open\n")
    out = workspace / "contracts" / "imported"
    imported = ["contract", "import", "--from", "csv", "drop/orders.csv", "--out", str(out)]
    assert main([*imported, "--owner", "a@b.co"]) == 0
    capsys.readouterr()
    assert main(["contract", "test", str(out / "orders.yaml"), "--json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["rows_checked"] == 2
