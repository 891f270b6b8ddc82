"""What one task of a distributed run does with its piece of the input (no Ray here: plain functions
that a Ray worker, or a test, calls).

:func:`piece_key_hashes` reads only the piece's unique-key columns and returns their hashes by
partition (the first half of :mod:`.keys`). :func:`run_piece` reads the piece through the same source
class, :class:`~dativo_ingest.ingest.validation.Validator` and incremental window as a single-process
run, writes its valid rows as one Iceberg data file (not committed: the driver commits every task's
files in one snapshot) and returns the rest to the driver: rejected and malformed rows with their
positions in the piece, the rows held back for the global unique check, counts, the incremental
boundary it saw and what it consumed (CPU, peak memory, bytes, API calls).
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import time
from collections import Counter
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

    def source(self, piece: Piece, columns: list[str] | None = None) -> Source:
        """The run's source restricted to ``piece`` (reading only ``columns`` when given)."""
        wanted = columns if columns is not None else [c.name for c in self.rules.columns]
        context = SourceContext(
            self.base_dir,
            {c.name: c.type for c in self.rules.columns if c.name in wanted},
            self.batch_size,
            self.incremental,
            required=frozenset(c.name for c in self.rules.columns if c.required and c.name in wanted),
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
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    worker: str = ""  # host:pid of the worker process
    node: str = ""  # Ray node id (filled by the Ray task)


def piece_key_hashes(spec: RunSpec, piece: Piece, partitions: int) -> dict[str, list[np.ndarray]]:
    """The hashes of the piece's unique keys (non-null, typed as the contract), by partition."""
    columns = sorted({c for cols in keys.key_names(spec.rules).values() for c in cols})
    source = spec.source(piece, columns)
    con = _hashing_connection()
    found: dict[str, list[np.ndarray]] = {name: [] for name in keys.key_names(spec.rules)}
    with run_memory_pool(), contextlib.closing(source):
        for batch in source.numbered_batches():
            for name, values in keys.typed_keys(spec.rules, batch).items():
                found[name].append(keys.hashes_of(values, con))
    return {
        name: keys.partitioned(np.concatenate(parts) if parts else np.empty(0, np.uint64), partitions)
        for name, parts in found.items()
    }


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


def run_piece(spec: RunSpec, piece: Piece, contested: dict[str, np.ndarray]) -> PieceResult:
    """Read, validate and write one piece (see the module docstring). Strict mode stops at the first
    rejected or malformed row and writes nothing: the driver fails the run with its position. Arrow
    allocates from the run's memory pool, as in a single-process run."""
    with run_memory_pool():
        return _run_piece(spec, piece, contested)


def _run_piece(spec: RunSpec, piece: Piece, contested: dict[str, np.ndarray]) -> PieceResult:
    started = time.process_time()
    result = PieceResult(piece.ordinal, worker=f"{socket.gethostname()}:{os.getpid()}")
    source = spec.source(piece)
    validator = Validator(spec.rules, spec.parallel_rows, unique=False)
    boundary = (
        Boundary(
            spec.incremental,
            spec.boundary_key,
            [c.name for c in spec.rules.columns],
            spec.incremental.boundary_keys,
        )
        if spec.incremental is not None
        else None
    )
    con = _hashing_connection() if any(len(h) for h in contested.values()) else None
    staged: list[tuple[pa.RecordBatch, np.ndarray | None]] = []
    try:
        for batch, outcome in validator.validate_stream(admitted(_counted(source, result), boundary)):
            result.rows_read += batch.num_rows
            bad = np.zeros(batch.num_rows, dtype=bool)
            if outcome.failed_count:
                bad[outcome.failed_rows] = True
                rows = outcome.failed_rows
                taken = visible(batch).take(pa.array(rows))
                result.rejected.append(Rejected(taken, outcome.failed_rules, source.locate(batch, rows)))
            held = keys.contested_rows(spec.rules, outcome.typed, ~bad, contested, con)
            if held.any():
                rows = np.flatnonzero(held)
                taken = pa.array(rows)
                result.held.append(
                    (outcome.typed.take(taken), visible(batch).take(taken), source.locate(batch, rows))
                )
            leave_out = np.flatnonzero(bad | held)
            if len(leave_out) < batch.num_rows:
                staged.append((outcome.typed, leave_out if len(leave_out) else None))
            result.rows_written += batch.num_rows - len(leave_out)
            while source.malformed:
                result.malformed.append(source.malformed.popleft())
            if spec.strict and (result.rejected or result.malformed):
                return _finished(result, source, validator, boundary, started)
        while source.malformed:
            result.malformed.append(source.malformed.popleft())
        result.rows_read += len(result.malformed)
        if staged and not (spec.strict and result.malformed):
            result.data_files = spec.sink.write(piece.ordinal, staged)
        staged.clear()
        return _finished(result, source, validator, boundary, started)
    finally:
        source.close()


def _counted(source: Source, result: PieceResult):
    """The source's numbered batches, counting the rows numbered (before the incremental window)."""
    for batch in source.numbered_batches():
        result.records += batch.num_rows
        yield batch


def _finished(
    result: PieceResult, source: Source, validator: Validator, boundary: Boundary | None, started: float
) -> PieceResult:
    result.failures = validator.failures
    result.null_counts = validator.null_counts
    if result.malformed:
        result.failures["malformed_row"] += len(result.malformed)
    result.boundary = boundary.state() if boundary is not None else None
    facts = getattr(source, "span_facts", None)
    if facts is not None:
        result.lines, result.quotes_odd = facts.lines, facts.quotes_odd
    stats = source.stats
    result.bytes_read, result.api_calls = stats.bytes_read, stats.api_calls
    result.warnings, result.files = list(stats.warnings), list(stats.files)
    result.cpu_seconds = time.process_time() - started
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result
