"""A table comment declared in the CREATE TABLE statement (MySQL ``COMMENT='...'``) becomes the object's
description, like ``COMMENT ON TABLE``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.importers.helpers import import_all_formats


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
