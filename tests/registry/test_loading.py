"""Loading a pair of contracts for a comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_ingest.errors import YAMLLoadError
from dativo_ingest.registry import loading
from tests.registry.conftest import contract


def test_pair_loads_both_contracts(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    contract().to_yaml(first)
    contract(version="1.1.0", schema=[{"name": "x", "type": "long"}]).to_yaml(second)
    left, right = loading.load_pair(first, second)
    assert left == loading.load_contract(first)
    assert right.version == "1.1.0" and right.fields[0].type == "long"


def test_error_names_the_broken_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    contract().to_yaml(first)
    second.write_text("version: [\n")
    with pytest.raises(YAMLLoadError) as info:
        loading.load_pair(first, second)
    assert info.value.path == str(second) and info.value.line
