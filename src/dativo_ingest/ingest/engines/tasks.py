"""What one task of a distributed run does with its piece of the input (no Ray here: plain functions
that a Ray worker, or a test, calls).

:func:`run_piece` reads the piece through the same source class,
:class:`~dativo_ingest.ingest.validation.Validator` and incremental window as a single-process run,
writes its valid rows as one Iceberg data file (not committed: the driver commits every task's files in
one snapshot) and returns the rest to the driver: rejected and malformed rows with their positions in
the piece, the rows held back for the global unique check, counts, the incremental boundary it saw and
what it consumed (CPU, peak memory, bytes, API calls). With unique keys it also returns the hashes of
its keys for the reducers of :mod:`.keys`, and holds back the rows whose key repeats within the piece.
"""

from __future__ import annotations

import os
import resource
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from dativo_ingest.ingest.boundary import Boundary, BoundaryState, admitted
from dativo_ingest.ingest.engines import keys
from dativo_ingest.ingest.memory import run_memory_pool
from dativo_ingest.ingest.rules import RuleSet
from dativo_ingest.ingest.sources import Incremental, SourceContext, build_source
from dativo_ingest.ingest.sources.base import MalformedRow, Piece, RowPosition, Source, visible
from dativo_ingest.ingest.targets.iceberg import DataFileSink
from dativo_ingest.ingest.validation import PARALLEL_ROWS, Validator


@dataclass(frozen=True)
class RunSpec:
    """What every task of one run needs (sent to the cluster once)."""

    source_type: str
    source_options: dict[str, Any]
    base_dir: Path
    batch_size: int
    rules: RuleSet
    incremental: Incremental | None
    boundary_key: str | None
    sink: DataFileSink
    strict: bool
    parallel_rows: int = PARALLEL_ROWS  # batches this large are validated on worker threads

    def source(self, piece: Piece) -> Source:
        """The run's source restricted to ``piece``."""
        columns = self.rules.columns
        context = SourceContext(
            self.base_dir,
            {c.name: c.type for c in columns},
            self.batch_size,
            self.incremental,
            required=frozenset(c.name for c in columns if c.required),
        )
        source = build_source(self.source_type, self.source_options, context)
        source.restrict(piece)
        return source


@dataclass
class Rejected:
    """Rows a task quarantines: their source values, failed rules and positions in the piece."""

    rows: pa.RecordBatch
    rules: list[list[str]]
    positions: list[RowPosition]


@dataclass
class PieceResult:
    """What a task hands back to the driver."""

    ordinal: int
    data_files: list[Any] = field(default_factory=list)
    rows_read: int = 0
    rows_written: int = 0
    failures: Counter = field(default_factory=Counter)
    null_counts: Counter = field(default_factory=Counter)
    rejected: list[Rejected] = field(default_factory=list)
    malformed: list[MalformedRow] = field(default_factory=list)
    held: list[tuple[pa.RecordBatch, pa.RecordBatch, list[RowPosition]]] = field(default_factory=list)
    boundary: BoundaryState | None = None
    records: int = 0  # rows numbered in the piece (its rows before the window), for position offsets
    lines: int = 0  # CSV byte ranges: line breaks in the range
    quotes_odd: bool = False  # CSV byte ranges: cut inside a quoted value (the file must be read whole)
    bytes_read: int = 0
    api_calls: int = 0
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    usage: TaskUsage = field(default_factory=lambda: TaskUsage())


@dataclass
class TaskUsage:
    """What one task consumed, and where it ran."""

    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0  # of the worker process, since it started
    worker: str = ""  # host:pid of the worker process
    node: str = ""  # Ray node id (filled by the Ray task)

    @classmethod
    def measured(cls, started: float) -> TaskUsage:
        """This process's usage since ``started`` (its ``time.process_time()``)."""
        return cls(
            time.process_time() - started,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            f"{socket.gethostname()}:{os.getpid()}",
        )


def run_piece(
    spec: RunSpec, piece: Piece, contested: dict[str, np.ndarray], partitions: int = 0
) -> tuple[PieceResult, list[keys.PieceKeys]]:
    """Read, validate and write one piece (see the module docstring), holding back the rows with a key
    in ``contested``; with ``partitions``, also the rows whose key repeats within the piece, and return
    the piece's key hashes in that many partitions (:func:`.keys.piece_keys`). Strict mode stops at the
    first rejected or malformed row and writes nothing: the driver fails the run with its position.
    Arrow allocates from the run's memory pool, as in a single-process run."""
    with run_memory_pool():
        started = time.process_time()
        read = _PieceRead(spec, piece)
        con = _hashing_connection() if partitions or any(len(h) for h in contested.values()) else None
        read_batches: list[tuple[pa.RecordBatch, pa.RecordBatch, np.ndarray]] = []
        staged: list[tuple[pa.RecordBatch, np.ndarray | None]] = []
        hashed: list[keys.PieceKeys] = []
        try:
            for batch, typed, bad in read.batches():
                if partitions:  # which keys repeat is known once the whole piece is read
                    read_batches.append((batch, typed, bad))
                else:
                    held = keys.contested_rows(spec.rules, typed, ~bad, contested, con)
                    _stage(read, staged, batch, typed, bad, held)
            if partitions:
                candidates = [(typed, ~bad) for _, typed, bad in read_batches]
                repeats, hashed = keys.piece_keys(spec.rules, candidates, partitions, con)
                first = 0
                for batch, typed, bad in read_batches:
                    held = repeats[first : first + batch.num_rows]
                    _stage(read, staged, batch, typed, bad, held)
                    first += batch.num_rows
                read_batches.clear()
            if staged and not read.stopped:
                read.result.data_files = spec.sink.write(piece.ordinal, staged)
            staged.clear()
            return read.finished(started), hashed
        finally:
            read.source.close()


def _stage(
    read: _PieceRead,
    staged: list[tuple[pa.RecordBatch, np.ndarray | None]],
    batch: pa.RecordBatch,
    typed: pa.RecordBatch,
    bad: np.ndarray,
    held: np.ndarray,
) -> None:
    """A validated batch's valid rows staged for the data file, but the ``held`` ones: those are held
    back for the driver (typed, as read, and where they are)."""
    if held.any():
        rows = np.flatnonzero(held)
        taken = pa.array(rows)
        read.result.held.append(
            (typed.take(taken), visible(batch).take(taken), read.source.locate(batch, rows))
        )
    leave_out = np.flatnonzero(bad | held)
    if len(leave_out) < batch.num_rows:
        staged.append((typed, leave_out if len(leave_out) else None))
    read.result.rows_written += batch.num_rows - len(leave_out)


_connections: dict[int, duckdb.DuckDBPyConnection] = {}


def _hashing_connection() -> duckdb.DuckDBPyConnection:
    """This worker process's DuckDB connection for key hashes (one DuckDB thread), kept for the tasks
    that follow: connecting costs 15-40 ms, as much as hashing a piece's keys. Keyed by process, so a
    forked child never uses its parent's. (Only in workers: an open connection in a driver makes its
    next ``ray.init`` time out starting the GCS.)"""
    con = _connections.get(os.getpid())
    if con is None:
        con = _connections[os.getpid()] = duckdb.connect(config={"threads": 1})
    return con


class _PieceRead:
    """One piece read through the run's source, window and validator (``unique=False``), collecting its
    rejected and malformed rows, counts and boundary into :attr:`result`."""

    def __init__(self, spec: RunSpec, piece: Piece) -> None:
        self.spec = spec
        self.result = PieceResult(piece.ordinal)
        self.source = spec.source(piece)
        self.validator = Validator(spec.rules, spec.parallel_rows, unique=False)
        self.boundary = (
            Boundary(
                spec.incremental,
                spec.boundary_key,
                [c.name for c in spec.rules.columns],
                spec.incremental.boundary_keys,
            )
            if spec.incremental is not None
            else None
        )
        self.stopped = False  # strict mode met a rejected or malformed row: write nothing

    def batches(self) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch, np.ndarray]]:
        """``(source batch, typed batch, mask of the rows that fail a rule)`` for each batch."""
        result, source = self.result, self.source
        batches = admitted(_counted(source, result), self.boundary)
        for batch, outcome in self.validator.validate_stream(batches):
            result.rows_read += batch.num_rows
            bad = np.zeros(batch.num_rows, dtype=bool)
            if outcome.failed_count:
                bad[outcome.failed_rows] = True
                rows = outcome.failed_rows
                taken = visible(batch).take(pa.array(rows))
                result.rejected.append(Rejected(taken, outcome.failed_rules, source.locate(batch, rows)))
            yield batch, outcome.typed, bad
            self._drain()
            if self.spec.strict and (result.rejected or result.malformed):
                self.stopped = True
                return
        self._drain()
        result.rows_read += len(result.malformed)
        self.stopped = self.spec.strict and bool(result.malformed)

    def _drain(self) -> None:
        while self.source.malformed:
            self.result.malformed.append(self.source.malformed.popleft())

    def finished(self, started: float) -> PieceResult:
        """:attr:`result` completed with the read's counts, facts and usage."""
        result, source = self.result, self.source
        result.failures = self.validator.failures
        result.null_counts = self.validator.null_counts
        if result.malformed:
            result.failures["malformed_row"] += len(result.malformed)
        result.boundary = self.boundary.state() if self.boundary is not None else None
        facts = getattr(source, "span_facts", None)
        if facts is not None:
            result.lines, result.quotes_odd = facts.lines, facts.quotes_odd
        stats = source.stats
        result.bytes_read, result.api_calls = stats.bytes_read, stats.api_calls
        result.warnings, result.files = list(stats.warnings), list(stats.files)
        result.usage = TaskUsage.measured(started)
        return result


def _counted(source: Source, result: PieceResult):
    """The source's numbered batches, counting the rows numbered (before the incremental window)."""
    for batch in source.numbered_batches():
        result.records += batch.num_rows
        yield batch
