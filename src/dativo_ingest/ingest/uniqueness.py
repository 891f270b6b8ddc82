"""Exact, streaming "seen before?" for unique columns, with memory proportional to the distinct keys.

Each value gets a 64-bit key: integers are their own key; other values are hashed by DuckDB's
vectorised ``hash()``. Keys live in a few sorted NumPy runs (merged like a binary counter, so a lookup
is a handful of binary searches over sorted needles). A key hit on a hashed value is confirmed against
the stored value, so distinct values sharing a hash are never reported as duplicates. Nulls are never
duplicates (SQL semantics).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MAX_RUNS = 12


@dataclass
class Pending:
    """A checked batch not yet remembered: considered rows, their sorted keys and sort order."""

    rows: np.ndarray
    sorted_keys: np.ndarray
    order: np.ndarray
    subset: pa.Array


class SeenIndex:
    """Remembers the values of one column across batches; ``check_and_add`` flags repeats."""

    def __init__(self, value_type: pa.DataType) -> None:
        self._integer = pa.types.is_integer(value_type)
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted keys, global positions)
        self._chunks: list[pa.Array] = []
        self._offsets: list[int] = []
        self._size = 0
        self._con = None

    def __len__(self) -> int:
        return self._size

    def check_and_add(self, values: pa.Array, candidates: np.ndarray | None = None) -> np.ndarray:
        """:meth:`check` then :meth:`add` every considered row that is not a duplicate."""
        duplicate, pending = self.check(values, candidates)
        self.add(pending, ~duplicate)
        return duplicate

    def check(self, values: pa.Array, candidates: np.ndarray | None = None) -> tuple[np.ndarray, Pending]:
        """Boolean mask: True where the value appeared earlier (in this batch or in added batches).

        ``candidates`` (boolean mask) limits which rows count; others are neither checked nor added.
        Nothing is remembered until :meth:`add` is called with the returned pending state.
        """
        n = len(values)
        duplicate = np.zeros(n, dtype=bool)
        considered = np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), dtype=bool)
        if candidates is not None:
            considered &= candidates
        rows = np.flatnonzero(considered)
        if rows.size == 0:
            return duplicate, Pending(rows, np.empty(0, np.uint64), np.empty(0, np.int64), values)
        subset = values.take(pa.array(rows)) if rows.size < n else values
        keys = self._keys(subset)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        dup_sorted = np.zeros(len(keys), dtype=bool)
        # repeats inside this batch: every occurrence after the first of an exact value
        for position in np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1]) + 1:
            if self._integer or self._equal_earlier(subset, order, int(position), sorted_keys):
                dup_sorted[position] = True
        # repeats of earlier batches
        for run_keys, run_positions in self._runs:
            found = np.searchsorted(run_keys, sorted_keys)
            found[found == len(run_keys)] = len(run_keys) - 1
            for position in np.flatnonzero(run_keys[found] == sorted_keys):
                if dup_sorted[position]:
                    continue
                if self._integer or self._in_run(
                    subset[int(order[position])], int(found[position]), run_keys, run_positions
                ):
                    dup_sorted[position] = True
        duplicate[rows[order[dup_sorted]]] = True
        return duplicate, Pending(rows, sorted_keys, order, subset)

    def add(self, pending: Pending, keep: np.ndarray) -> None:
        """Remember the rows of a checked batch for which ``keep`` (a mask over the batch) is True."""
        if pending.rows.size == 0:
            return
        chosen = keep[pending.rows[pending.order]]
        self._add(pending.sorted_keys[chosen], pending.order[chosen], pending.subset)

    def _keys(self, values: pa.Array) -> np.ndarray:
        if self._integer:
            return np.asarray(values.cast(pa.int64()).to_numpy(zero_copy_only=False)).view(np.uint64)
        import duckdb

        if self._con is None:
            self._con = duckdb.connect()
        self._con.register("batch_values", pa.table({"v": values}))
        hashed = self._con.execute("SELECT hash(v) AS h FROM batch_values").fetchnumpy()["h"]
        self._con.unregister("batch_values")
        return np.asarray(hashed, dtype=np.uint64)

    @staticmethod
    def _equal_earlier(subset: pa.Array, order: np.ndarray, position: int, sorted_keys: np.ndarray) -> bool:
        value = subset[int(order[position])]
        start = position - 1
        while start >= 0 and sorted_keys[start] == sorted_keys[position]:
            if subset[int(order[start])] == value:
                return True
            start -= 1
        return False

    def _in_run(self, value: pa.Scalar, first: int, run_keys: np.ndarray, run_positions: np.ndarray) -> bool:
        i = first
        while i < len(run_keys) and run_keys[i] == run_keys[first]:
            if self._stored(int(run_positions[i])) == value:
                return True
            i += 1
        return False

    def _stored(self, position: int) -> pa.Scalar:
        chunk = bisect.bisect_right(self._offsets, position) - 1
        return self._chunks[chunk][position - self._offsets[chunk]]

    def _add(self, keys: np.ndarray, local_rows: np.ndarray, subset: pa.Array) -> None:
        if keys.size == 0:
            return
        base = self._size
        if not self._integer:
            self._chunks.append(subset)
            self._offsets.append(base)
        self._size += len(subset)
        self._runs.append((keys, local_rows.astype(np.int64) + base))
        while len(self._runs) > 1 and (
            len(self._runs[-1][0]) >= len(self._runs[-2][0]) or len(self._runs) > _MAX_RUNS
        ):
            (k2, p2), (k1, p1) = self._runs.pop(), self._runs.pop()
            merged = np.concatenate([k1, k2])
            order = np.argsort(merged, kind="stable")
            self._runs.append((merged[order], np.concatenate([p1, p2])[order]))
