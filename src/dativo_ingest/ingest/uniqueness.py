"""Exact, streaming "seen before?" for unique columns, with memory proportional to the distinct keys.

Every value gets a 64-bit key (integers through a bijective mixer, everything else through DuckDB's
vectorised ``hash()``). A batch's keys are sorted once, packed with their row position in the low bits
(``key >> b << b | row``), so one ``np.sort`` yields both the order and the positions; adjacent equal
keys reveal repeats inside the batch. Remembered batches stay as such sorted runs (never merged), and a
blocked Bloom filter (three bits in one 64-bit word per key, at least ~24 bits a key) answers "certainly
new" for almost every key, so only the few filter hits are looked up in the runs by binary search.
Every key match is then confirmed by comparing the actual values, so distinct values sharing a key are
never reported as duplicates. Nulls are never duplicates (SQL semantics).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MAX_ROW_BITS = 28  # rows per checked array: larger arrays are checked in slices
_MAX_WORD_BITS = 25  # filter of at most 256 MB (~90 M keys at 24 bits a key)
_BITS_PER_KEY = 24
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


@dataclass
class Pending:
    """Sorted packed keys of an array's rows and its values; while pending, also derived positions.

    ``rows`` (row of each key), ``word``/``mask`` (filter positions, for ``word_bits``) are computed
    once by :meth:`SeenIndex.prepare`, off the critical path; remembered runs drop them.
    """

    packed: np.ndarray
    row_bits: int
    values: pa.Array
    rows: np.ndarray | None = None
    word: np.ndarray | None = None
    mask: np.ndarray | None = None
    word_bits: int = 0

    def prepared(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rows, word, mask)``, which pending keys carry (remembered runs have dropped them)."""
        if self.rows is None or self.word is None or self.mask is None:
            raise ValueError("only keys from SeenIndex.prepare carry rows and filter positions")
        return self.rows, self.word, self.mask

    def subset(self, keep: np.ndarray) -> Pending:
        """The keys selected by ``keep`` (a mask over the keys), derived positions included."""
        rows, word, mask = self.prepared()
        return Pending(
            self.packed[keep],
            self.row_bits,
            self.values,
            rows[keep],
            word[keep],
            mask[keep],
            self.word_bits,
        )


class SeenIndex:
    """Remembers the values of one column across batches; ``check_and_add`` flags repeats."""

    def __init__(
        self, value_type: pa.DataType, key_hash: Callable[[pa.Array], np.ndarray] | None = None
    ) -> None:
        """``key_hash`` replaces the 64-bit key of each value (tests force collisions with a weak one;
        every key match is confirmed on the values)."""
        self._key_hash = key_hash
        self._integer = pa.types.is_integer(value_type)
        self._runs: list[Pending] = []
        self._word_bits = 21  # 16 MB of zero pages, resident only where touched; rebuilt past ~5M keys
        self._words = np.zeros(1 << self._word_bits, dtype=np.uint64)
        self._size = 0
        self._con: duckdb.DuckDBPyConnection | None = None

    def __len__(self) -> int:
        return self._size

    def check_and_add(self, values: pa.Array, candidates: np.ndarray | None = None) -> np.ndarray:
        """:meth:`check` then :meth:`add` every considered row that is not a duplicate."""
        values = _array(values)
        step = 1 << _MAX_ROW_BITS
        parts = []
        for start in range(0, max(len(values), 1), step):
            part = values.slice(start, step)
            mask = None if candidates is None else candidates[start : start + step]
            duplicate, pending = self.check(part, mask)
            self.add(pending, ~duplicate)
            parts.append(duplicate)
        return np.concatenate(parts)

    def prepare(self, values: pa.Array) -> Pending:
        """The costly, rule-independent half of :meth:`check` (keys and sort).

        May run on another thread while :meth:`check`/:meth:`add` of an earlier array run, but only one
        ``prepare`` of an index at a time.
        """
        values = _array(values)
        n = len(values)
        if n > 1 << _MAX_ROW_BITS:
            raise ValueError(f"SeenIndex.check takes at most 2**{_MAX_ROW_BITS} rows at a time")
        bits = max(1, (n - 1).bit_length())
        rows = np.flatnonzero(np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), dtype=bool))
        if rows.size:
            keys = self._keys(values)[rows] if rows.size < n else self._keys(values)
            packed = np.sort((keys >> np.uint64(bits) << np.uint64(bits)) | rows.astype(np.uint64))
        else:
            packed = np.empty(0, np.uint64)
        word_bits = self._word_bits  # read once: add() may grow the filter meanwhile (check() redoes it)
        word, mask = self._filter_positions(packed, word_bits)
        rows = (packed & np.uint64((1 << bits) - 1)).astype(np.int64)
        return Pending(packed, bits, values, rows, word, mask, word_bits)

    def check(
        self, values: pa.Array | Pending, candidates: np.ndarray | None = None
    ) -> tuple[np.ndarray, Pending]:
        """Boolean mask: True where the value appeared earlier (in this array or in added arrays).

        ``values`` may be the result of :meth:`prepare`. ``candidates`` (boolean mask) limits which rows
        count; others are neither checked nor added. Nothing is remembered until :meth:`add` is called
        with the returned pending state.
        """
        state = values if isinstance(values, Pending) else self.prepare(values)
        if candidates is not None and state.packed.size:
            considered = candidates[state.prepared()[0]]
            state = state if considered.all() else state.subset(considered)
        if state.word_bits != self._word_bits:
            state.word, state.mask = self._filter_positions(state.packed)
            state.word_bits = self._word_bits
        values, bits, packed = state.values, state.row_bits, state.packed
        local, word, mask = state.prepared()
        duplicate = np.zeros(len(values), dtype=bool)
        if packed.size == 0:
            return duplicate, state
        # repeats inside the array: rows after the first of an equal key, confirmed on the values
        low = np.uint64((1 << bits) - 1)
        later = np.flatnonzero((packed[1:] ^ packed[:-1]) <= low) + 1
        if later.size:
            duplicate[local[later[_confirm_same_key(values, packed, low, local, later)]]] = True
        # repeats of remembered arrays: the filter clears almost every key; hits are searched in runs
        if self._runs:
            hits = np.flatnonzero((self._words[word] & mask) == mask)
            for row, run, stored_row in self._run_matches(packed[hits], bits, local[hits]):
                same = _same(values.take(pa.array(row)), run.values.take(pa.array(stored_row)))
                duplicate[row[np.asarray(same.fill_null(False).to_numpy(zero_copy_only=False), bool)]] = True
        return duplicate, state

    def add(self, pending: Pending, keep: np.ndarray) -> None:
        """Remember the rows of a checked array for which ``keep`` (a mask over the array) is True."""
        if pending.packed.size == 0:
            return
        kept = keep[pending.prepared()[0]]
        chosen = pending if kept.all() else pending.subset(kept)
        if chosen.packed.size == 0:
            return
        self._runs.append(Pending(chosen.packed, chosen.row_bits, chosen.values))
        self._size += int(chosen.packed.size)
        if self._size * _BITS_PER_KEY > 64 << self._word_bits and self._word_bits < _MAX_WORD_BITS:
            while self._size * _BITS_PER_KEY > 64 << self._word_bits and self._word_bits < _MAX_WORD_BITS:
                self._word_bits += 1
            self._words = np.zeros(1 << self._word_bits, dtype=np.uint64)
            for run in self._runs:
                self._set_bits(*self._filter_positions(run.packed))
        elif chosen.word_bits == self._word_bits:
            _, word, mask = chosen.prepared()
            self._set_bits(word, mask)
        else:
            self._set_bits(*self._filter_positions(chosen.packed))

    # -- keys -------------------------------------------------------------------------------------
    def _keys(self, values: pa.Array) -> np.ndarray:
        if self._key_hash is not None:
            return np.asarray(self._key_hash(values), dtype=np.uint64)
        if self._con is None and not self._integer:
            self._con = duckdb.connect()
        return key_hashes(values, self._con)

    # -- Bloom filter over the top bits of the keys (positions stay sorted with the keys) ----------
    def _filter_positions(self, packed: np.ndarray, word_bits: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Filter word (top bits: sorted with the keys) and a 3-bit mask from a remix of the key bits
        above any row position, so the positions of a key do not depend on the array it came from."""
        word = (packed >> np.uint64(64 - (word_bits or self._word_bits))).astype(np.int64)
        mixed = (packed >> np.uint64(_MAX_ROW_BITS)) * _MIX2
        one, six = np.uint64(1), np.uint64(63)
        mask = one << (mixed >> np.uint64(58))
        mask |= one << ((mixed >> np.uint64(52)) & six)
        mask |= one << ((mixed >> np.uint64(46)) & six)
        return word, mask

    def _set_bits(self, word: np.ndarray, mask: np.ndarray) -> None:
        if word.size == 0:
            return
        starts = np.concatenate(([0], np.flatnonzero(word[1:] != word[:-1]) + 1))  # words are sorted
        self._words[word[starts]] |= np.bitwise_or.reduceat(mask, starts)

    # -- exact confirmation -----------------------------------------------------------------------
    def _run_matches(self, packed: np.ndarray, bits: int, rows: np.ndarray):
        """(rows of the checked array, run, rows of the run's values) whose keys are equal."""
        for run in self._runs:
            shift = np.uint64(max(bits, run.row_bits))
            wanted = packed >> shift
            at = np.searchsorted(run.packed, wanted << shift)
            active = np.arange(len(packed))
            found_rows, found_stored = [], []
            while active.size:
                at_active = at[active]
                inside = at_active < len(run.packed)
                active, at_active = active[inside], at_active[inside]
                equal = (run.packed[at_active] >> shift) == wanted[active]
                active, at_active = active[equal], at_active[equal]
                if active.size:
                    found_rows.append(rows[active])
                    found_stored.append(
                        (run.packed[at_active] & np.uint64((1 << run.row_bits) - 1)).astype(np.int64)
                    )
                    at[active] += 1
            if found_rows:
                yield np.concatenate(found_rows), run, np.concatenate(found_stored)


def composite_key(parts: list[pa.Array]) -> pa.Array:
    """One text per row for a key of several columns: each part as text, prefixed by its length, then
    joined, so no two different tuples share a text (``("x,y", "z")`` and ``("x", "y,z")`` do not);
    null when a part is."""
    texts = []
    for part in parts:
        text = pc.cast(part, pa.string())
        texts.append(pc.binary_join_element_wise(pc.cast(pc.utf8_length(text), pa.string()), text, ":"))
    return pc.binary_join_element_wise(*texts, "\x1f")


def in_run_order(
    checked: dict[str, tuple[Pending, np.ndarray]], candidates: np.ndarray
) -> dict[str, np.ndarray]:
    """The duplicate masks of several unique keys checked on one array (``name -> (prepared keys,
    duplicate mask from SeenIndex.check)``), settled row by row in order: a row that repeats one key
    does not land, so it claims none of its other keys, and a later row with one of those lands.

    Each :meth:`SeenIndex.check` on its own counts every candidate row as a claimant. Only rows sharing
    a key with another candidate row of the array can be affected; those few are walked in order in
    Python, on their values (a shared hash that is not a shared value only adds a row to the walk)."""
    if len(checked) < 2:
        return {name: duplicate for name, (_, duplicate) in checked.items()}
    shared = [_sharing_rows(keys, candidates) for keys, _ in checked.values()]
    rows = np.unique(np.concatenate(shared)) if shared else np.empty(0, np.int64)
    settled = {name: duplicate.copy() for name, (_, duplicate) in checked.items()}
    if not rows.size:
        return settled
    taken = pa.array(rows)
    values = {name: keys.values.take(taken).to_pylist() for name, (keys, _) in checked.items()}
    # value -> whether it repeats an earlier array's (the check's answer for its first row here)
    seen_before: dict[str, dict] = {name: {} for name in checked}
    claimed: dict[str, set] = {name: set() for name in checked}
    for i, row in enumerate(rows.tolist()):
        lost = []
        for name, (_, duplicate) in checked.items():
            value = values[name][i]
            if value is None:
                continue
            earlier = seen_before[name].setdefault(value, bool(duplicate[row]))
            if earlier or value in claimed[name]:
                lost.append(name)
        for name in checked:
            settled[name][row] = name in lost
            if not lost and values[name][i] is not None:
                claimed[name].add(values[name][i])
    return settled


def _sharing_rows(keys: Pending, candidates: np.ndarray) -> np.ndarray:
    """Rows among ``candidates`` whose 64-bit key another candidate row has too."""
    rows = keys.prepared()[0]
    considered = candidates[rows]
    hashes, rows = keys.packed[considered] >> np.uint64(keys.row_bits), rows[considered]
    same = hashes[1:] == hashes[:-1]
    marked = np.zeros(len(hashes), dtype=bool)
    marked[1:] |= same
    marked[:-1] |= same
    return rows[marked]


def key_hashes(values: pa.Array, con: duckdb.DuckDBPyConnection | None = None) -> np.ndarray:
    """The 64-bit key of each value (nulls get an arbitrary key: callers leave them out): integers
    through a bijective mixer, everything else through DuckDB's ``hash()`` (on ``con``, else a new
    connection). Equal values always get equal keys, in any process."""
    values = _array(values)
    if pa.types.is_integer(values.type):
        ints = values.cast(pa.int64(), safe=False).fill_null(0)
        x = np.asarray(ints.to_numpy(), dtype=np.int64).view(np.uint64)
        x = (x ^ (x >> np.uint64(30))) * _MIX1  # splitmix64's finaliser: a bijection on 64 bits
        x = (x ^ (x >> np.uint64(27))) * _MIX2
        return x ^ (x >> np.uint64(31))
    con = con or duckdb.connect()
    con.register("batch_values", pa.table({"v": values}))
    hashed = con.execute("SELECT hash(v) AS h FROM batch_values").fetchnumpy()["h"]
    con.unregister("batch_values")
    return np.asarray(hashed, dtype=np.uint64)


def _confirm_same_key(
    values: pa.Array, packed: np.ndarray, low: np.uint64, local: np.ndarray, later: np.ndarray
) -> np.ndarray:
    """For sorted positions ``later`` (same key as their predecessor): is the value a real repeat?"""
    first = later - 1  # walk back to the first position of each equal-key group
    moving = np.flatnonzero(first > 0)
    while moving.size:
        at = first[moving]
        moving = moving[(packed[at] ^ packed[at - 1]) <= low]
        first[moving] -= 1
        moving = moving[first[moving] > 0]
    same = _same(values.take(pa.array(local[later])), values.take(pa.array(local[first])))
    confirmed = np.asarray(same.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    if not confirmed.all():  # distinct values share a key (rare): settle those groups on the values
        ends: dict[int, int] = {}
        for a, b in zip(first[~confirmed].tolist(), later[~confirmed].tolist(), strict=True):
            ends[a] = max(b, ends.get(a, b))
        positions = np.concatenate([np.arange(a, b + 1) for a, b in ends.items()])
        rows = np.sort(local[positions])
        repeat = np.zeros(len(values), dtype=bool)
        repeat[rows[_exact_repeats(values.take(pa.array(rows)))]] = True
        confirmed |= repeat[local[later]]
    return confirmed


def _same(left: pa.Array, right: pa.Array) -> pa.Array:
    """Element-wise equality in which NaN equals NaN (as Arrow's hash tables, SQL GROUP BY and dbt's
    unique test have it), so a repeated NaN is a repeat within a batch and across batches alike."""
    equal = pc.equal(left, right)
    if pa.types.is_floating(left.type):
        equal = pc.or_(equal.fill_null(False), pc.and_(pc.is_nan(left), pc.is_nan(right)).fill_null(False))
    return equal


def _exact_repeats(values: pa.Array) -> np.ndarray:
    """Mask of values equal to an earlier value of the array (Arrow's hash table compares exactly)."""
    first_seen = np.asarray(pc.index_in(values, value_set=pc.unique(values)), dtype=np.int64)
    running = np.maximum.accumulate(first_seen)  # unique() lists values in order of first appearance
    return first_seen <= np.concatenate(([-1], running[:-1]))


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
