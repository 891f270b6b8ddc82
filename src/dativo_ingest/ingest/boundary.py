"""The incremental window: which rows a run reads, and what the next run must not read again.

Sources read the rows whose cursor is at or after the committed cursor (``>=``), so rows that arrive
late with exactly the cursor's value are not lost. Rows at that value that an earlier run already read
are recognised by their identity and dropped: the contract's first unique (primary key) column, or,
without one, the row's contract columns. The identities of the rows at the newest cursor value are
committed with the cursor (as short digests). Rows whose cursor is missing or unparseable are read by
the first, full run only.

At most :data:`MAX_BOUNDARY_KEYS` identities are kept (in memory and in the state file). A cursor so
coarse (a date) that more rows share its newest value cannot be deduplicated exactly: the identities
beyond the cap are not kept, and the rows they stand for may be read again by the next run
(duplicates, never loss); :attr:`Boundary.warnings` says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dativo_ingest.ingest.casting import as_mask, try_cast
from dativo_ingest.ingest.sources.base import Incremental, since_value

MAX_BOUNDARY_KEYS = 100_000  # identities kept at the newest cursor value (~2 MB of state JSON)


@dataclass(frozen=True)
class BoundaryState:
    """What a :class:`Boundary` observed (a distributed run's tasks hand it to the driver to merge)."""

    top: Any
    top_keys: frozenset[str]
    top_rows: int
    overflow: bool


class Boundary:
    """Filters the stream to rows not read before and tracks the cursor (and identities) to commit."""

    def __init__(
        self,
        incremental: Incremental,
        key: str | None,
        columns: list[str],
        seen: Iterable[str] = (),
        limit: int | None = None,
    ) -> None:
        self.incremental = incremental
        self.since = since_value(incremental)
        self.key = key
        self.columns = columns
        self.limit = MAX_BOUNDARY_KEYS if limit is None else limit
        self.seen = set(seen)
        self.top: Any = None
        self.top_keys: set[str] = set()
        self.top_rows = 0  # rows read at ``top`` (more than the identities kept when over the limit)
        self.overflow = False  # identities at ``top`` were dropped for the limit

    @property
    def truncated(self) -> bool:
        """Whether more rows share the cursor to commit than :attr:`limit` identities can cover."""
        if self.top is None:
            return False
        at_since = self.since is not None and self.top == self.since.as_py()
        return self.overflow or (at_since and len(self.seen | self.top_keys) > self.limit)

    @property
    def warnings(self) -> list[str]:
        if not self.truncated:
            return []
        return [
            f"incremental cursor {self.incremental.cursor_field!r}: more than {self.limit:,} rows "
            f"({self.top_rows:,} in this run) share its newest value {self.top!s}; only {self.limit:,} "
            "of their identities are kept, so the cursor's resolution is too coarse for exact boundary "
            "dedupe: rows at that value may be read again by the next run (duplicates, never loss)"
        ]

    def admit(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Rows after the cursor, and rows at it whose identity was not read before."""
        if self.since is None:
            return batch
        cursor = self._cursor(batch)
        keep = as_mask(pc.greater(cursor, self.since), writable=True)
        at = np.flatnonzero(as_mask(pc.equal(cursor, self.since)))
        if at.size:
            fresh = np.array([i not in self.seen for i in self._identities(batch, at)], dtype=bool)
            keep[at[fresh]] = True
        return batch if keep.all() else batch.filter(pa.array(keep))

    def observe(self, batch: pa.RecordBatch) -> None:
        """Track the greatest cursor over every row read (valid or not) and the identities at it."""
        cursor = self._cursor(batch)
        top = pc.max(cursor).as_py()
        if top is None:
            return
        if self.top is None or top > self.top:
            self.top, self.top_keys, self.top_rows, self.overflow = top, set(), 0, False
        if top == self.top:
            at = np.flatnonzero(as_mask(pc.equal(cursor, pa.scalar(top, type=cursor.type))))
            self.top_rows += at.size
            room = self.limit - len(self.top_keys)
            if at.size > room:
                self.overflow = True
            if room > 0:
                self.top_keys.update(self._identities(batch, at[:room]))

    def state(self) -> BoundaryState:
        return BoundaryState(self.top, frozenset(self.top_keys), self.top_rows, self.overflow)

    def merge(self, other: BoundaryState) -> None:
        """Fold in what another boundary over the same window observed (as if it had seen those rows)."""
        if other.top is None:
            return
        if self.top is None or other.top > self.top:
            self.top, self.top_keys, self.top_rows, self.overflow = other.top, set(), 0, False
        if other.top == self.top:
            self.top_rows += other.top_rows
            room = self.limit - len(self.top_keys)
            fresh = sorted(other.top_keys - self.top_keys)
            self.overflow = self.overflow or other.overflow or len(fresh) > room
            self.top_keys.update(fresh[: max(room, 0)])

    def result(self) -> tuple[Any, list[str]]:
        """``(cursor, identities at it)`` to commit: the newest value read, else the window's start
        (at most :attr:`limit` identities, see :attr:`truncated`)."""
        since = self.since.as_py() if self.since is not None else None
        if self.top is None:
            keys = sorted(self.seen)
            return self.incremental.since, keys[: self.limit]
        if since is not None and self.top == since:
            keys = sorted(self.seen) + sorted(self.top_keys - self.seen)
            return self.top, keys[: self.limit]
        return self.top, sorted(self.top_keys)

    def _cursor(self, batch: pa.RecordBatch) -> pa.Array:
        name = self.incremental.cursor_field
        column = batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows)
        return try_cast(column, self.incremental.cursor_type)[0]

    def _identities(self, batch: pa.RecordBatch, rows: np.ndarray) -> list[str]:
        taken = batch.take(pa.array(rows))
        if self.key and self.key in batch.schema.names:
            values: list[Any] = taken.column(self.key).to_pylist()
        else:
            values = taken.select([c for c in self.columns if c in batch.schema.names]).to_pylist()
        return [_digest(v) for v in values]


def admitted(batches: Iterable[pa.RecordBatch], boundary: Boundary | None) -> Iterator[pa.RecordBatch]:
    """The rows not read by an earlier run (all of them without an incremental ``boundary``), observed."""
    if boundary is None:
        yield from batches
        return
    for batch in batches:
        batch = boundary.admit(batch)
        boundary.observe(batch)
        yield batch


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
