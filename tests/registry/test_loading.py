"""Loading a pair of contracts: the forked parallel path gives the same models and the same errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_ingest.errors import YAMLLoadError
from dativo_ingest.registry import loading
from tests.registry.conftest import contract


def test_parallel_pair_equals_sequential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    contract().to_yaml(first)
    contract(version="1.1.0", schema=[{"name": "x", "type": "long"}]).to_yaml(second)
    monkeypatch.setattr(loading, "PARALLEL_BYTES", 1)
    assert loading._worth_forking(first, second)
    calls: list[str] = []
    real = loading.load_contract
    monkeypatch.setattr(loading, "load_contract", lambda path: calls.append(str(path)) or real(path))
    left, right = loading.load_pair(first, second)
    assert calls == [str(first)]  # the second file was loaded by the child, not again here
    monkeypatch.setattr(loading, "load_contract", real)
    assert left == loading.load_contract(first) and right == loading.load_contract(second)
    assert right.fields[0].type == "long"


def test_child_error_is_reported_by_the_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    contract().to_yaml(first)
    second.write_text("version: [\n")
    monkeypatch.setattr(loading, "PARALLEL_BYTES", 1)
    with pytest.raises(YAMLLoadError) as info:
        loading.load_pair(first, second)
    assert info.value.path == str(second) and info.value.line
