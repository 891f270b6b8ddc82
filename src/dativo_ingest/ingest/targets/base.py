"""What a target does for a run: stage data while the run streams, then land it all in one commit.

A run calls :meth:`Target.open` (create or evolve the destination, nothing visible yet), then
:meth:`Target.write` / :meth:`Target.write_quarantine` per batch (data staged, invisible), then
:meth:`Target.commit` once. A run that dies before the commit leaves the destination as it was.
:meth:`Target.find_committed` answers "did a run with this key already land?", which makes re-runs
idempotent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

#: Snapshot-summary / marker property holding a run's idempotency key.
RUN_KEY = "dativo.run-key"


@dataclass
class CommitInfo:
    """What one commit landed."""

    snapshot_id: str | None
    rows: int
    files: int
    bytes_written: int
    quarantine_rows: int = 0
    quarantine_snapshot_id: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    already_committed: bool = False


@dataclass
class TargetDataset:
    """How lineage names the destination (OpenLineage namespace/name, plus catalog facts)."""

    namespace: str
    name: str
    identifier: str
    catalog: dict[str, Any] = field(default_factory=dict)
    quarantine: tuple[str, str, str] | None = None


class Target(ABC):
    """A destination that stages a run's rows and commits them atomically."""

    type_name: str

    @abstractmethod
    def open(self, schema: pa.Schema, *, quarantine: bool, table_properties: dict[str, str]) -> list[str]:
        """Prepare for ``schema`` (create, or plan a compatible evolution); return notes on changes made."""

    @abstractmethod
    def find_committed(self, run_key: str) -> dict[str, str] | None:
        """The commit properties of an earlier run with ``run_key``, or None."""

    @abstractmethod
    def write(self, batch: pa.RecordBatch) -> None:
        """Stage valid rows (typed as the contract)."""

    @abstractmethod
    def write_quarantine(self, batch: pa.RecordBatch) -> None:
        """Stage quarantined rows (see :data:`dativo_ingest.ingest.quarantine.QUARANTINE_SCHEMA`)."""

    @abstractmethod
    def commit(self, properties: dict[str, str]) -> CommitInfo:
        """Land everything staged in one atomic commit carrying ``properties`` (incl. the run key)."""

    def last_commit(self, job: str) -> dict[str, str] | None:
        """The commit properties of the newest run of ``job`` (``tenant/name``), or None."""
        return None

    def abort(self) -> None:  # noqa: B027 - optional hook
        """Forget staged data (best effort; staged files are never visible anyway)."""

    def existing_values(self, column: str) -> Iterator[pa.Array]:
        """Values of ``column`` already in the destination (for unique-against-table checks)."""
        return iter(())

    @abstractmethod
    def dataset(self) -> TargetDataset:
        """Lineage naming of the destination."""
