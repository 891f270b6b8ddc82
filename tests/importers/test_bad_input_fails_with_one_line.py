"""Unreachable servers, wrong credentials, missing tables, unsupported column types and bad patterns:
one error line, exit code 2, nothing written, no password anywhere."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.importers.helpers import run


def _refused(capsys: pytest.CaptureFixture[str], out: Path, *args: str) -> str:
    code, stdout, err = run(capsys, *args, "--out", str(out))
    assert code == 2, (stdout, err)
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert not out.exists()
    return err


@pytest.fixture
def pg_table(postgres_url: str) -> Iterator[str]:
    name = f"t_import_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {name}_ok (id int)"))
        connection.execute(text(f"CREATE TABLE {name}_odd (id int, spot point)"))
    yield name
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {name}_ok, {name}_odd"))
    engine.dispose()


def test_an_unreachable_server_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(capsys, tmp_path / "out", "--from", "postgres", "postgresql://u:hunter22@127.0.0.1:9/db")
    assert "postgres server 127.0.0.1:9" in err and "refused" in err.lower()
    assert "hunter22" not in err


@pytest.mark.mysql
def test_wrong_credentials_are_one_line_without_the_password(
    mysql_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_IMPORT_PW", "not-the-password")
    host = mysql_url.split("@", 1)[1]
    err = _refused(
        capsys, tmp_path / "out", "--from", "mysql", f"mysql://nobody_t_import:${{T_IMPORT_PW}}@{host}"
    )
    assert "Access denied" in err and "not-the-password" not in err


def test_an_unset_variable_in_the_url_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(capsys, tmp_path / "out", "--from", "postgres", "postgresql://u:${T_IMPORT_UNSET}@h/db")
    assert "T_IMPORT_UNSET is not set" in err


@pytest.mark.postgres
def test_missing_tables_unsupported_types_and_bad_patterns(
    pg_table: str, postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    err = _refused(capsys, out, "--from", "postgres", postgres_url, "--table", f"{pg_table}_missing")
    assert f"table '{pg_table}_missing' not found" in err
    err = _refused(capsys, out, "--from", "postgres", postgres_url, "--schema", f"{pg_table}_nope")
    assert f"schema '{pg_table}_nope' not found" in err
    err = _refused(capsys, out, "--from", "postgres", postgres_url, "--include", f"{pg_table}_*")
    assert (
        f"public.{pg_table}_odd.spot: unsupported column type" in err
    )  # the good table is not written either
    err = _refused(capsys, out, "--from", "postgres", postgres_url, "--include", "[oops")
    assert "unclosed '['" in err
    err = _refused(capsys, out, "--from", "postgres", postgres_url, "--include", f"{pg_table}_zz*")
    assert "no table in" in err


def test_files_ddl_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert "no such file or folder" in _refused(
        capsys, out, "--from", "parquet", str(tmp_path / "none.parquet")
    )
    (tmp_path / "bad.parquet").write_text("not parquet")
    assert "cannot read as parquet" in _refused(
        capsys, out, "--from", "parquet", str(tmp_path / "bad.parquet")
    )
    (tmp_path / "bad.sql").write_text("CREATE TABLE t (a INT")
    assert "does not parse" in _refused(capsys, out, "--from", "ddl", str(tmp_path / "bad.sql"))
    (tmp_path / "geo.sql").write_text("CREATE TABLE t (a INTERVAL)")
    assert "t.a: unsupported column type 'INTERVAL'" in _refused(
        capsys, out, "--from", "ddl", str(tmp_path / "geo.sql")
    )
    (tmp_path / "ok.sql").write_text("CREATE TABLE t (a INT)")
    assert "--profile needs data" in _refused(
        capsys, out, "--from", "ddl", str(tmp_path / "ok.sql"), "--profile"
    )
    assert "--format must be one of" in _refused(
        capsys, out, "--from", "ddl", str(tmp_path / "ok.sql"), "--format", "x"
    )
    assert "--from must be one of" in _refused(capsys, out, "--from", "oracle", "x")
