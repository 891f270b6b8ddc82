"""A column the contract declares but the table no longer has fails its checks (exit 1, with the reason),
never skips them into a passing run."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dativo_ingest.cli.app import main


@pytest.mark.postgres
def test_a_dropped_required_column_fails(workspace: Path, postgres_url: str, capsys) -> None:
    table = f"t_drop_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE {table} (id INT PRIMARY KEY, status VARCHAR(10) NOT NULL)"))
            conn.execute(text(f"INSERT INTO {table} VALUES (1, 'paid')"))
        out = workspace / "imported"
        imported = ["contract", "import", "--from", "postgres", postgres_url, "--table", table]
        assert main([*imported, "--out", str(out), "--owner", "a@b.co"]) == 0
        (contract,) = sorted(out.glob("*.yaml"))
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN status"))
        capsys.readouterr()
        assert main(["contract", "test", str(contract), "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        by_id = {c["id"]: c for c in report["checks"]}
        assert by_id["not_null:status"]["status"] == "failed"
        assert by_id["not_null:status"]["reason"] == "column status is not in the table"
        assert by_id["not_null:id"]["status"] == "passed"
        assert any("missing from the table: status" in w for w in report["warnings"])
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
