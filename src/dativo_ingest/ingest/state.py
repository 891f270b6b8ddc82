"""Incremental cursor state: ``.dativo/state/<tenant>/<job>.json``, advanced only after a commit.

The committed cursor is also stored in the target's commit properties (``dativo.cursor``), so a run that
committed but died before writing this file is recovered: its re-run finds the commit by run key and
writes the state from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dativo_ingest.errors import ConfigError
from dativo_ingest.fileio import atomic_write_text, locked


class CursorState:
    """The last committed cursor of one job."""

    def __init__(self, state_dir: Path, tenant_id: str, job_name: str) -> None:
        self.path = state_dir / "state" / tenant_id / f"{job_name}.json"

    def load(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"unreadable cursor state: {exc}", path=str(self.path)) from exc
        return data if isinstance(data, dict) else {}

    def cursor(self, field: str) -> Any:
        """The committed cursor value for ``field`` (None when none, or when the cursor field changed)."""
        data = self.load()
        return data.get("cursor") if data.get("cursor_field") == field else None

    def boundary_keys(self, field: str) -> list[str]:
        """Identities of the rows read at the committed cursor value (see :mod:`..boundary`)."""
        data = self.load()
        return list(data.get("boundary_keys") or []) if data.get("cursor_field") == field else []

    def advance(
        self, field: str, value: Any, run_key: str, commit_id: str | None, keys: list[str] | None = None
    ) -> None:
        """Record ``value`` (and the ``keys`` read at it) as committed; call only after the commit."""
        state = {"cursor_field": field, "cursor": value, "run_key": run_key, "commit": commit_id}
        with locked(self.path):
            atomic_write_text(
                self.path,
                json.dumps({**state, "boundary_keys": keys or []}, sort_keys=True, indent=2) + "\n",
            )
