"""Load contract files for a comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_contract(path: str | Path) -> Any:
    """The ``AssetDefinition`` in a contract file (dativo format or ODCS)."""
    from dativo_ingest.config import AssetDefinition

    return AssetDefinition.from_yaml(path)


def load_pair(first: str | Path, second: str | Path) -> tuple[Any, Any]:
    """Both contracts of a comparison (yaml-rs parses even 10,000-property files in tens of ms)."""
    return load_contract(first), load_contract(second)
