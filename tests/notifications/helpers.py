"""Writing a workspace ``dativo.yaml`` and reading what the store recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.notifications import list_deliveries
from dativo_ingest.workspace import Workspace

FAST_RETRY = {"attempts": 3, "backoff_seconds": 0.01, "max_backoff_seconds": 0.05}


def write_workspace_config(root: Path, section: dict[str, Any]) -> Path:
    path = root / "dativo.yaml"
    path.write_text(yaml.safe_dump({"notifications": section}, sort_keys=False), encoding="utf-8")
    return path


def deliveries(root: Path, **filters: Any) -> list[dict[str, Any]]:
    return list_deliveries(MetadataStore(Workspace(root).database_url), **filters)
