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

from dativo_ingest.ingest.validation import BatchOutcome

# ----- commit properties ----------------------------------------------------------------------
# What a run's commit carries (the Iceberg snapshot summary, the Parquet target's run marker): written by
# the run at its commit, read back for idempotent re-runs and cursor recovery. Every reader and writer
# uses these names, never the strings.
RUN_KEY = "dativo.run-key"  #: the run's idempotency key
RUN_ID = "dativo.run-id"
JOB = "dativo.job"  #: ``tenant/name``: the newest commit of a job is found by it
CONTRACT_VERSION = "dativo.contract-version"
ROWS_READ = "dativo.rows-read"
ROWS_WRITTEN = "dativo.rows-written"
ROWS_QUARANTINED = "dativo.rows-quarantined"
CURSOR_FIELD = "dativo.cursor-field"  #: incremental runs only, like the three below
CURSOR = "dativo.cursor"  #: JSON of the committed cursor value
CURSOR_KEYS = "dativo.cursor-keys"  #: JSON list of the boundary identities (absent when too many)
CURSOR_KEYS_COUNT = "dativo.cursor-keys-count"  #: how many boundary identities the run had
SNAPSHOT_ID = "snapshot-id"  #: added by the readers (find_committed, last_commit): the commit's id
REPLAY_OF = "dativo.replay-of"  #: a quarantine replay's commit: ``tenant/name`` of the job it replays
REPLAY_QUARANTINE_SNAPSHOT = "dativo.replay-quarantine-snapshot"  #: the quarantine snapshot it replayed

# Table properties a run sets on the tables it writes.
TABLE_CONTRACT_ID = "dativo.contract-id"
TABLE_CONTRACT_VERSION = CONTRACT_VERSION
TABLE_OWNER = "dativo.owner"
TABLE_CLASSIFICATION = "dativo.classification"
TABLE_QUARANTINE_OF = "dativo.quarantine-of"  #: on a quarantine table: the table it belongs to
TABLE_REPLAYS_OF = "dativo.replays-of"  #: on a replay ledger: the quarantine table it records


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

    def write_valid(self, outcome: BatchOutcome) -> None:
        """Stage the valid rows of a validated batch (by default :meth:`write` of each valid part)."""
        for part in outcome.valid_parts():
            self.write(part)

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
