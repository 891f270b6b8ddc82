"""The workspace: one folder holding everything dativo reads and writes.

Layout (relative to the root): ``specs/`` (contract registry), ``assets/``, ``jobs/``, ``dbt/``,
``warehouse/`` (local Iceberg), ``.dativo/`` (SQLite metadata store and run state). The root is
``DATIVO_HOME`` when set, else the current directory. Nothing is created until it is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace; pure, creates nothing."""

    root: Path

    @classmethod
    def current(cls, root: str | Path | None = None) -> Workspace:
        """The workspace at ``root``, else ``$DATIVO_HOME``, else the current directory."""
        chosen = root if root is not None else os.environ.get("DATIVO_HOME") or Path.cwd()
        return cls(Path(chosen).expanduser().resolve())

    @property
    def specs(self) -> Path:
        return self.root / "specs"

    @property
    def assets(self) -> Path:
        return self.root / "assets"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def dbt(self) -> Path:
        return self.root / "dbt"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def state(self) -> Path:
        return self.root / ".dativo"

    @property
    def database_url(self) -> str:
        """``DATIVO_DATABASE_URL`` when set, else the SQLite store under ``.dativo/``."""
        return os.environ.get("DATIVO_DATABASE_URL") or f"sqlite:///{self.state / 'dativo.db'}"
