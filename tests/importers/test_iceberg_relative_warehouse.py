"""An Iceberg warehouse folder given as a relative path (``dativo contract import --from iceberg
warehouse``, run from the workspace) imports like an absolute one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyiceberg import types as it
from pyiceberg.schema import Schema

from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from tests.importers.helpers import run


def test_relative_warehouse_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = load_catalog_for(CatalogConfig(), tmp_path / "warehouse")
    catalog.create_namespace("bronze")
    catalog.create_table("bronze.events", Schema(it.NestedField(1, "id", it.LongType(), required=True)))
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--from", "iceberg", "warehouse", "--json")
    assert code == 0, err
    assert [c["object"] for c in json.loads(out)] == ["events"]
