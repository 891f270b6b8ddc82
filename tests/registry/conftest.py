"""Helpers for registry tests: contracts built from small bodies merged onto a valid base."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from dativo_ingest.config import AssetDefinition
from dativo_ingest.yamlio import load_file

FIXTURES = Path(__file__).parent / "fixtures"

BASE: dict[str, Any] = {
    "apiVersion": "v3.0.2",
    "kind": "DataContract",
    "id": "shop-orders",
    "name": "shop_orders",
    "version": "1.0.0",
    "status": "active",
    "source_type": "shop",
    "object": "orders",
    "team": {"owner": "owner@example.com"},
}


def contract(body: dict[str, Any] | None = None, **overrides: Any) -> AssetDefinition:
    """A valid contract: :data:`BASE` updated with ``body`` and ``overrides``."""
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(body or {}))
    data.update(overrides)
    data.setdefault("schema", [{"name": "id", "type": "string", "required": True}])
    return AssetDefinition.from_dict(data)


def fixture_cases() -> list[Any]:
    """Every case of every fixture file, as pytest params named ``file: case``."""
    params = []
    for file in sorted(FIXTURES.glob("*.yaml")):
        for case in load_file(file):
            params.append(pytest.param(case, id=f"{file.stem}: {case['name']}"))
    return params


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    return tmp_path / "specs"
