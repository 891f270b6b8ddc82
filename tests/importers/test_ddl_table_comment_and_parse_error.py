"""A table comment declared in the CREATE TABLE statement (MySQL ``COMMENT='...'``) becomes the object's
description, like ``COMMENT ON TABLE``; DDL that does not parse is one readable line (line, column, text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.importers.helpers import import_all_formats, run


def test_mysql_table_comment_becomes_description(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ddl = tmp_path / "shop.sql"
    ddl.write_text(
        "CREATE TABLE `orders` (`id` bigint NOT NULL COMMENT 'The id', PRIMARY KEY (`id`)) "
        "ENGINE=InnoDB COMMENT='Every order placed';\n"
    )
    docs = import_all_formats(capsys, tmp_path / "out", "--from", "ddl", str(ddl), "--dialect", "mysql")
    obj = docs["orders.yaml"]["schema"][0]
    assert obj["description"] == "Every order placed"
    assert obj["properties"][0]["description"] == "The id"


def test_ddl_parse_error_names_line_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ddl = tmp_path / "broken.sql"
    ddl.write_text("CREATE TABLE (x int;\n")
    code, _, err = run(capsys, "--from", "ddl", str(ddl), "--dialect", "postgres")
    assert code == 2
    assert err.strip() == (
        f"error: {ddl}: DDL does not parse as postgres SQL: Expected table name at line 1, column 14 near '('"
    )
