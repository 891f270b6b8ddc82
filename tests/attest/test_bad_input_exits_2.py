"""Unreachable servers, wrong credentials, missing tables and filters that do not parse: one line naming
the server or table, exit code 2, and nothing written (no report file, no quality history)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from tests.attest.conftest import history_rows, write_contract


def attempt(capsys, contract: Path, *args: str, junit: Path | None = None) -> tuple[int, str]:
    extra = ["--junit", str(junit)] if junit else []
    code = main(["contract", "test", str(contract), *args, *extra])
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return code, lines[0]


def assert_nothing_written(junit: Path) -> None:
    assert not junit.exists()
    assert history_rows() == []


def test_an_unreachable_server(workspace: Path, capsys) -> None:
    server = {"server": "prod", "type": "postgres", "host": "127.0.0.1", "port": 1, "database": "nope"}
    contract = write_contract(workspace, "t_attest_orders", [server])
    code, line = attempt(capsys, contract, junit=workspace / "r.xml")
    assert code == 2 and "server 'prod'" in line and "cannot connect" in line
    assert_nothing_written(workspace / "r.xml")


@pytest.mark.postgres
def test_wrong_credentials_never_show_the_password(
    workspace: Path, postgres_url: str, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("ATTEST_PG_PASSWORD", "s3cret-Pa55")
    server = {
        "server": "prod",
        "type": "postgres",
        "host": "127.0.0.1",
        "port": 5432,
        "database": "test",
        "username": "no_such_user_attest",
        "password": "${ATTEST_PG_PASSWORD}",
    }
    contract = write_contract(workspace, "t_attest_orders", [server])
    code, line = attempt(capsys, contract, junit=workspace / "r.xml")
    assert code == 2 and "server 'prod'" in line and "s3cret-Pa55" not in line
    assert_nothing_written(workspace / "r.xml")


def test_a_missing_environment_variable_is_named(workspace: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("ATTEST_UNSET", raising=False)
    server = {"server": "prod", "type": "postgres", "database": "test", "password": "${ATTEST_UNSET}"}
    code, line = attempt(capsys, write_contract(workspace, "t_attest_orders", [server]))
    assert code == 2 and "ATTEST_UNSET" in line


@pytest.mark.parametrize(
    "seeded",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
        "iceberg",
        "parquet",
    ],
    indirect=True,
)
def test_a_missing_table(seeded, workspace: Path, capsys) -> None:
    server = dict(seeded["server"])
    if seeded["kind"] in ("postgres", "mysql", "iceberg"):
        server["table"] = "t_attest_does_not_exist"
    else:
        server["path"] = str(workspace / "data" / "missing.parquet")
    code, line = attempt(
        capsys, write_contract(workspace, seeded["table"], [server]), junit=workspace / "r.xml"
    )
    assert code == 2 and (
        "t_attest_does_not_exist" in line or "missing.parquet" in line or "no files" in line
    )
    assert_nothing_written(workspace / "r.xml")


@pytest.mark.parametrize(
    ("seeded", "where"),
    [
        pytest.param("postgres", "id >>>= 3", marks=pytest.mark.postgres),
        pytest.param("postgres", "1=1; DROP TABLE x", marks=pytest.mark.postgres),
        pytest.param("mysql", "id ===", marks=pytest.mark.mysql),
        ("iceberg", "id >>> 1"),
        ("iceberg", "no_such_column = 1"),
        ("parquet", "SELECT 1"),
    ],
    indirect=["seeded"],
)
def test_a_filter_that_does_not_parse(seeded, where: str, workspace: Path, capsys) -> None:
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    code, line = attempt(capsys, contract, "--filter", where, junit=workspace / "r.xml")
    assert code == 2 and "--filter" in line
    assert_nothing_written(workspace / "r.xml")


def test_an_unknown_server_name_lists_the_known_ones(workspace: Path, capsys) -> None:
    servers = [
        {"server": "a", "type": "local", "path": "x.csv"},
        {"server": "b", "type": "local", "path": "y.csv"},
    ]
    contract = write_contract(workspace, "t_attest_orders", servers)
    code, line = attempt(capsys, contract, "--server", "c")
    assert code == 2 and "no server 'c'" in line and "a, b" in line
    code, line = attempt(capsys, contract)
    assert code == 2 and "--server" in line
