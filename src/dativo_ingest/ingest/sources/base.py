"""What every source shares: its context, the batch contract, and helpers for files and Python records.

A source turns its input into a stream of Arrow record batches holding (at least) the contract's
columns, in any type: validation casts them. It never holds the whole input in memory.

Where each row came from travels with it, so a rejected row can be found again: a batch holds rows of
one file at most (its path in the schema metadata under :data:`FILE_KEY`) and a hidden int64 column
:data:`ROW_COLUMN` with each row's 1-based number (in its file for file sources, in the run otherwise;
HTTP adds the page in :data:`PAGE_COLUMN`). The column is one ``arange`` a batch and survives the
incremental filters; :meth:`Source.locate` turns it into positions for the rejected rows only.
"""

from __future__ import annotations

import glob
import json
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest.casting import try_cast
from dativo_ingest.ingest.sources.fingerprint import FileFingerprints
from dativo_ingest.ingest.sources.prefetch import prefetch


class SourceOptions(BaseModel):
    """Base of each source's options model (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


@dataclass
class Incremental:
    """Read only rows whose ``cursor_field`` is at or after ``since`` (None: read everything); rows at
    ``since`` already read are told apart by ``boundary_keys`` (:mod:`dativo_ingest.ingest.boundary`)."""

    cursor_field: str
    cursor_type: pa.DataType
    since: Any = None
    boundary_keys: list[str] = field(default_factory=list)


@dataclass
class SourceContext:
    """What a source is told about the run: contract columns and types, batch size, incremental window."""

    base_dir: Path
    columns: dict[str, pa.DataType]
    batch_size: int = 131072
    incremental: Incremental | None = None
    fingerprint_cache: Path | None = None  # file digests by path, size and mtime (see .fingerprint)
    required: frozenset[str] = frozenset()  # contract columns the input must have


@dataclass
class SourceStats:
    """What a source consumed, for FinOps and the run summary."""

    bytes_read: int = 0
    api_calls: int = 0
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


ROW_COLUMN = "__dativo_row__"  # 1-based number of the row in its file (file sources) or in the run
PAGE_COLUMN = "__dativo_page__"  # HTTP: 1-based page the record came from
FILE_KEY = b"dativo.file"  # schema metadata: the file a batch was read from
HIDDEN_PREFIX = "__dativo_"


@dataclass(frozen=True)
class RowPosition:
    """Where a source row is: ``file`` (None for databases and APIs), its 1-based ``number`` and what
    that number counts: a physical ``line`` (CSV counting the header, JSON Lines counting blank lines),
    a CSV ``record`` (the N-th data record, when the line cannot be known exactly) or a ``row`` (Parquet:
    in the file; databases and APIs: in the run, with the API ``page``)."""

    file: str | None
    number: int
    unit: str = "row"
    page: int | None = None

    @property
    def short(self) -> str:
        """Without the file: ``line 12``, ``record 7``, ``row 7``, ``page 2 row 7``."""
        where = f"{self.unit} {self.number}"
        return f"page {self.page} {where}" if self.page is not None else where

    @property
    def where(self) -> str:
        """With the file, as errors name places: ``c.csv:12``, ``c.csv record 7``, ``p.parquet row 7``."""
        if self.file is None:
            return self.short
        return f"{self.file}:{self.number}" if self.unit == "line" else f"{self.file} {self.short}"


def numbered(batch: pa.RecordBatch, first: int, file: str | None = None) -> pa.RecordBatch:
    """``batch`` with :data:`ROW_COLUMN` = ``first, first + 1, ...`` (and its file in the metadata)."""
    if ROW_COLUMN not in batch.schema.names:
        rows = np.arange(first, first + batch.num_rows, dtype=np.int64)
        batch = batch.append_column(ROW_COLUMN, pa.array(rows))
    if file is not None:
        batch = batch.replace_schema_metadata({**(batch.schema.metadata or {}), FILE_KEY: file.encode()})
    return batch


def visible(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` without the hidden position columns."""
    names = batch.schema.names
    if not any(n.startswith(HIDDEN_PREFIX) for n in names):
        return batch
    return batch.select([n for n in names if not n.startswith(HIDDEN_PREFIX)])


@dataclass(frozen=True)
class Piece:
    """One task's share of a source's input in a distributed run (:meth:`Source.pieces`).

    Pieces are in the run's order: every row of piece ``i`` comes before the rows of piece ``i + 1``.
    A piece is a whole input, a whole file, a CSV byte range ``[start, end)`` beginning at a line start
    (``header``: the file's column names when the range does not begin the file), some row groups of a
    Parquet file (``first_row``: the number of its first row in the file) or a SQL key range
    (``key_range``: ``(column, low, high, last)``, rows with ``low <= column < high``, ``<= high`` when
    ``last``; the first range also takes the rows whose column is null)."""

    ordinal: int
    path: str | None = None
    start: int = 0
    end: int | None = None
    header: tuple[str, ...] | None = None
    row_groups: tuple[int, ...] | None = None
    first_row: int = 1
    key_range: tuple[str, Any, Any, bool] | None = None
    last_in_file: bool = True

    @property
    def label(self) -> str:
        """How errors name the piece: ``c.csv bytes 0-67108864``, ``p.parquet row groups 0-3``, ..."""
        if self.key_range is not None:
            column, low, high, last = self.key_range
            return f"{column} in [{low}, {high}{']' if last else ')'}"
        where = self.path or "the input"
        if self.end is not None:
            return f"{where} bytes {self.start}-{self.end}"
        if self.row_groups is not None:
            return f"{where} row groups {self.row_groups[0]}-{self.row_groups[-1]}"
        return where


@dataclass(frozen=True)
class MalformedRow:
    """A row the source could not split into columns: its file, 1-based line, raw text and why."""

    path: str
    line: int | None
    text: str
    reason: str


@dataclass(frozen=True)
class SourceNode:
    """How lineage names a source: ``source://<source_type>/<object>``, with where it connects."""

    source_type: str
    object: str
    connection: dict[str, Any]


class Source(ABC):
    """A readable input. Subclasses set ``type_name`` and ``Options`` and implement :meth:`batches`.

    Rows that cannot even be parsed are not in the batches: they are put in ``malformed`` (the run
    quarantines them, or fails in strict mode).
    """

    type_name: ClassVar[str]
    Options: ClassVar[type[SourceOptions]]

    def __init__(self, options: SourceOptions, context: SourceContext) -> None:
        self.options = options
        self.context = context
        self.stats = SourceStats()
        self.malformed: deque[MalformedRow] = deque()  # filled by the reader thread, drained by the run
        self.piece: Piece | None = None  # set by restrict(): read only this share of the input

    @abstractmethod
    def batches(self) -> Iterator[pa.RecordBatch]:
        """The input as record batches (at most about ``context.batch_size`` rows each)."""

    def close(self) -> None:  # noqa: B027  (optional hook: most sources hold nothing)
        """Release what :meth:`locate` may hold open (the run calls it at its end)."""

    def numbered_batches(self) -> Iterator[pa.RecordBatch]:
        """:meth:`batches`, each carrying :data:`ROW_COLUMN` (numbered in the run when the source did
        not number its rows itself)."""
        first = 1
        for batch in self.batches():
            yield numbered(batch, first)
            first += batch.num_rows

    def locate(self, batch: pa.RecordBatch, rows: np.ndarray) -> list[RowPosition]:
        """The positions of ``rows`` (indexes into ``batch``, ascending), for quarantine and errors.
        Python touches only these rows."""
        if not len(rows):
            return []
        taken = pa.array(np.asarray(rows, dtype=np.int64))
        numbers = batch.column(ROW_COLUMN).take(taken).to_pylist()
        file = (batch.schema.metadata or {}).get(FILE_KEY)
        path = file.decode() if file is not None else None
        pages = (
            batch.column(PAGE_COLUMN).take(taken).to_pylist()
            if PAGE_COLUMN in batch.schema.names
            else [None] * len(numbers)
        )
        return self._positions(path, numbers, pages)

    def _positions(self, path: str | None, numbers: list[int], pages: list[int | None]) -> list[RowPosition]:
        return [RowPosition(path, n, "row", p) for n, p in zip(numbers, pages, strict=True)]

    def fingerprint(self) -> str | None:
        """A stable identity of exactly this input (same input -> same value), or None when unknowable."""
        return None

    def verify_unchanged(self) -> None:  # noqa: B027  (optional hook: only files can be checked)
        """Fail when the input changed since :meth:`fingerprint` (a distributed run checks before its
        commit what a single process checks while it reads)."""

    def pieces(self, split_bytes: int, workers: int = 1) -> list[Piece]:
        """The input in pieces of at most about ``split_bytes`` each, in order, for a distributed run of
        ``workers`` tasks at once (by default one piece: an API, say, is read by one task)."""
        return [Piece(0)]

    def restrict(self, piece: Piece) -> None:
        """Read only ``piece`` of the input (one of :meth:`pieces`)."""
        self.piece = piece

    def check_columns(self, present: Iterable[str], where: str, path: str | None = None) -> None:
        """Fail when the input lacks a required contract column (every row would be rejected); a missing
        optional column is a warning and reads as null."""
        names = set(present)
        missing = [c for c in self.context.columns if c not in names]
        required = [c for c in missing if c in self.context.required]
        if required:
            message = f"no column {', '.join(required)}, required by the contract"
            raise SourceError(message if path else f"{where}: {message}", path=path)
        if missing:
            self.stats.warnings.append(f"{where}: no column {', '.join(missing)} (read as missing)")

    @abstractmethod
    def dataset(self) -> tuple[str, str]:
        """OpenLineage ``(namespace, name)`` of the input."""

    @abstractmethod
    def lineage_node(self, source_type: str | None, object_name: str) -> SourceNode:
        """The lineage node of this input. ``source_type`` and ``object_name`` are the contract's names,
        used by sources whose input does not name itself (files, APIs)."""

    def describe(self) -> str:
        namespace, name = self.dataset()
        return f"{self.type_name} {namespace}/{name}" if namespace != "file" else f"{self.type_name} {name}"


# ----- files ------------------------------------------------------------------------------------
class FileOptions(SourceOptions):
    """Options every file source takes: one or more paths, folders or globs."""

    path: str | list[str]


#: The smallest share of the input a distributed run makes a task of (unless ``split_mb`` is smaller).
MIN_SPLIT_BYTES = 8 * 1024 * 1024


def _shares(total: int, split_bytes: int, workers: int) -> int:
    """How many even shares to cut ``total`` bytes into (see :meth:`FileSource.pieces`)."""
    needed = max(1, -(-total // split_bytes))  # no share above split_bytes
    shares = -(-needed // workers) * workers
    if split_bytes < MIN_SPLIT_BYTES or total // shares >= MIN_SPLIT_BYTES:
        return shares
    fits = total // MIN_SPLIT_BYTES  # shares of at least the floor
    return max(needed, fits // workers * workers or fits, 1)


class FileSource(Source):
    """A source over files: resolves ``options.path`` once, counts bytes, filters the incremental window.

    Subclasses set ``suffixes`` (the files a folder contributes) and implement :meth:`read_file`; a
    positive ``prefetch_depth`` decodes that many batches ahead on a background thread.
    """

    suffixes: ClassVar[tuple[str, ...]]
    prefetch_depth: ClassVar[int] = 0
    position_unit: ClassVar[str] = "row"  # what ROW_COLUMN counts in a file (see RowPosition)
    options: FileOptions
    _fingerprints: FileFingerprints | None = None  # set by fingerprint(); checks each file as it is read

    @abstractmethod
    def read_file(self, path: Path) -> Iterator[pa.RecordBatch]:
        """One file's rows as record batches. A batch may carry its own :data:`ROW_COLUMN` (e.g. line
        numbers); otherwise rows are numbered 1, 2, ... in the file."""

    def paths(self) -> list[Path]:
        """The files read, sorted (resolved on first use; the piece's file once restricted)."""
        if self.piece is not None and self.piece.path is not None:
            return [Path(self.piece.path)]
        if not hasattr(self, "_resolved"):
            self._resolved = expand_paths(self.options.path, self.context.base_dir, self.suffixes)
        return self._resolved

    def fingerprint(self) -> str:
        """The files' fingerprint (:mod:`.fingerprint`); once taken, each file read is checked against it
        before the stream ends."""
        self._fingerprints = FileFingerprints(self.paths(), self.context.fingerprint_cache)
        return self._fingerprints.digest()

    def verify_unchanged(self) -> None:
        if self._fingerprints is not None:
            for path in self.paths():
                self._fingerprints.verify(path)

    def pieces(self, split_bytes: int, workers: int = 1) -> list[Piece]:
        """A piece per file, or per part of a file of an even share of the input (sources that can
        split a file override :meth:`file_pieces`): each share at most ``split_bytes`` and, as far as
        that allows, at least :data:`MIN_SPLIT_BYTES` (unless ``split_bytes`` is smaller), in as many
        shares as a multiple of ``workers``, so the last round of tasks keeps every worker busy. (Each
        file is cut on its own: several files leave a short piece each.)"""
        paths = self.paths()
        total = sum(self.split_size(path) for path in paths)
        shares = _shares(total, split_bytes, max(1, workers))
        share = max(1, -(-total // shares))
        pieces: list[Piece] = []
        for path in paths:
            for piece in self.file_pieces(path, share):
                pieces.append(replace(piece, ordinal=len(pieces)))
        return pieces

    def split_size(self, path: Path) -> int:
        """The size of ``path`` in the unit :meth:`file_pieces` cuts by (bytes on disk)."""
        return path.stat().st_size

    def file_pieces(self, path: Path, split_bytes: int) -> list[Piece]:
        """The pieces of one file (their ordinals are set by :meth:`pieces`): the whole file."""
        return [Piece(0, str(path))]

    def dataset(self) -> tuple[str, str]:
        return "file", common_name(self.paths(), self.options.path)

    def lineage_node(self, source_type: str | None, object_name: str) -> SourceNode:
        """Named by the contract, located by the files' common path."""
        return SourceNode(source_type or self.type_name, object_name, {"path": self.dataset()[1]})

    def batches(self) -> Iterator[pa.RecordBatch]:
        batches = self._all_files()
        return prefetch(batches, depth=self.prefetch_depth) if self.prefetch_depth else batches

    def numbered_batches(self) -> Iterator[pa.RecordBatch]:
        return self.batches()  # numbered per file by _all_files

    def _all_files(self) -> Iterator[pa.RecordBatch]:
        since = since_value(self.context.incremental)
        fingerprints = self._fingerprints
        for path in self.paths():
            self.stats.files.append(str(path))
            piece = self.piece
            if piece is not None and piece.end is not None:
                self.stats.bytes_read += piece.end - piece.start
            else:
                self.stats.bytes_read += path.stat().st_size
            first = piece.first_row if piece is not None else 1
            with fingerprints.reading(path) if fingerprints is not None else nullcontext():
                for batch in self.read_file(path):
                    batch = numbered(batch, first, str(path))
                    first += batch.num_rows
                    yield filter_since(batch, self.context.incremental, since)
        if fingerprints is not None:
            fingerprints.save()  # the content hashes computed during the read

    def _positions(self, path: str | None, numbers: list[int], pages: list[int | None]) -> list[RowPosition]:
        return [RowPosition(path, n, self.position_unit) for n in numbers]


def expand_paths(patterns: str | list[str], base_dir: Path, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """Files matched by paths or globs (relative to ``base_dir``), sorted; a folder means its files."""
    found: set[Path] = set()
    for pattern in [patterns] if isinstance(patterns, str) else patterns:
        full = Path(pattern).expanduser()
        full = full if full.is_absolute() else base_dir / full
        if any(ch in str(full) for ch in "*?["):
            matches = [Path(p) for p in glob.glob(str(full), recursive=True)]
        elif full.is_dir():
            matches = [p for p in full.rglob("*") if not suffixes or p.name.endswith(suffixes)]
        else:
            matches = [full] if full.exists() else []
        if not matches:
            raise SourceError(f"no file matches {pattern!r}", path=str(full))
        found.update(p.resolve() for p in matches if p.is_file())
    return sorted(found)


def common_name(paths: list[Path], patterns: str | list[str]) -> str:
    """The lineage name of a file set: the single file, else the given pattern(s)."""
    if len(paths) == 1:
        return str(paths[0])
    return patterns if isinstance(patterns, str) else ",".join(patterns)


# ----- Python records -> Arrow -----------------------------------------------------------------
def records_to_batch(records: list[dict[str, Any]], columns: dict[str, pa.DataType]) -> pa.RecordBatch:
    """Rows as dicts -> one batch of the contract's columns; mixed-type columns become text to validate."""
    arrays = []
    for name, target in columns.items():
        values = [record.get(name) for record in records]
        arrays.append(column_array(values, target))
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))


def column_array(values: list[Any], target: pa.DataType) -> pa.Array:
    if pa.types.is_string(target) and any(isinstance(v, dict | list) for v in values):
        values = [
            json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list) else v for v in values
        ]
    try:
        return pa.array(values, from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, OverflowError):
        return pa.array([_text(v) for v in values], type=pa.string())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# ----- incremental ------------------------------------------------------------------------------
def since_value(incremental: Incremental | None) -> pa.Scalar | None:
    """The incremental lower bound as a scalar of the cursor's contract type (None when reading all)."""
    if incremental is None or incremental.since is None:
        return None
    converted, failed = try_cast(pa.array([incremental.since]), incremental.cursor_type)
    if failed is not None:
        raise SourceError(f"incremental start {incremental.since!r} is not a {incremental.cursor_type}")
    return converted[0]


def filter_since(
    batch: pa.RecordBatch, incremental: Incremental | None, since: pa.Scalar | None
) -> pa.RecordBatch:
    """Rows of ``batch`` at or after the cursor (the run drops those at it that were read before).

    Rows whose cursor is missing or does not parse are read (and quarantined) by the first, full run
    only; later runs skip them, so they are not quarantined again and again.
    """
    if since is None or incremental is None or incremental.cursor_field not in batch.schema.names:
        return batch
    cursor, _ = try_cast(batch.column(incremental.cursor_field), incremental.cursor_type)
    return batch.filter(pc.fill_null(pc.greater_equal(cursor, since), False))
