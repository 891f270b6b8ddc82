"""Uniqueness across the tasks of a distributed run, exactly as one process would decide it.

A single-process run keeps, for every unique key (a ``unique`` column or a composite ``unique_key``),
the first row that passes every other rule; later rows with that key are quarantined ``unique:<key>``.
Across tasks that needs one global order. Each task writes its data file at once, optimistically:

1. a task holds back the rows (passing every other rule: only those take part) whose key repeats
   within its piece, writes the others, and sends the hashes of both kinds to the reducer of each
   hash's partition (:func:`piece_keys`);
2. a reducer returns the hashes seen more than once (:func:`contested`), counting the values already in
   the table when the job checks uniqueness against it, and which pieces wrote a row with one of them
   (:func:`reduce`); those pieces alone are read again, holding back every row with a contested key
   (:func:`contested_rows`); their new data file replaces the first;
3. the driver runs the held-back rows, in the run's order, through the same
   :class:`~dativo_ingest.ingest.validation.Validator` a single process uses: the first of each key
   lands.

A key repeated many times (a placeholder value, a re-sent block of rows) repeats within pieces and is
held back where it is read; only a key seen once in each of two pieces costs a second read of both.

Hashes only decide which rows are held back, never which row is a duplicate: two values sharing a
hash are both held back and told apart on their values by the validator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dativo_ingest.ingest.casting import as_mask
from dativo_ingest.ingest.rules import RuleSet
from dativo_ingest.ingest.uniqueness import composite_key, key_hashes


def key_names(rules: RuleSet) -> dict[str, tuple[str, ...]]:
    """Each unique key's rule name (``id``, ``a+b``) and its columns."""
    keys: dict[str, tuple[str, ...]] = {name: (name,) for name in rules.unique_columns}
    keys.update({"+".join(key): key for key in rules.unique_keys})
    return keys


def key_columns(rules: RuleSet) -> list[str]:
    """The columns the unique keys are made of."""
    return sorted({column for columns in key_names(rules).values() for column in columns})


def key_values(rules: RuleSet, typed: Mapping[str, pa.Array]) -> dict[str, pa.Array]:
    """Each unique key's values from the contract-typed columns ``typed`` (composite keys joined as the
    validator joins them; null when a part is)."""
    values = {}
    for name, columns in key_names(rules).items():
        if len(columns) == 1:
            values[name] = typed[columns[0]]
        else:
            values[name] = composite_key([typed[c] for c in columns])
    return values


def hashes_of(values: pa.Array, con: duckdb.DuckDBPyConnection | None = None) -> np.ndarray:
    """The 64-bit keys of the non-null ``values``."""
    present = as_mask(pc.is_valid(values))
    hashed = key_hashes(values, con)
    return hashed if present.all() else hashed[present]


@dataclass
class PieceKeys:
    """One hash partition of a piece's unique-key hashes, per key name, each sorted: of the rows the
    piece wrote, and of those it held back."""

    written: dict[str, np.ndarray] = field(default_factory=dict)
    held: dict[str, np.ndarray] = field(default_factory=dict)


def piece_keys(
    rules: RuleSet,
    batches: list[tuple[pa.RecordBatch, np.ndarray]],
    partitions: int,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[np.ndarray, list[PieceKeys]]:
    """For a whole piece (its typed batches, each with the mask of the rows that pass every other
    rule): the mask of its rows (all batches in a row) with a key that repeats within the piece, and
    the piece's hashes by partition, those rows counted as held back."""
    names = key_names(rules)
    hashes: dict[str, list[np.ndarray]] = {name: [] for name in names}
    taking: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for typed, candidates in batches:
        columns = {name: typed.column(name) for name in key_columns(rules)}
        for name, values in key_values(rules, columns).items():
            hashes[name].append(key_hashes(values, con))
            taking[name].append(as_mask(pc.is_valid(values)) & candidates)
    flat = {name: _joined(hashes[name]) for name in names}
    take = {name: _joined(taking[name], bool) for name in names}
    ordered = {name: np.sort(flat[name][take[name]]) for name in names}
    held = np.zeros(sum(typed.num_rows for typed, _ in batches), dtype=bool)
    for name in names:
        held |= take[name] & _among(flat[name], _repeats(ordered[name]))
    parts = [PieceKeys() for _ in range(partitions)]
    for name in names:  # the rows a repeat of another key holds back are held for this key too
        kept = np.sort(flat[name][take[name] & held])
        written = _less(ordered[name], kept) if len(kept) else ordered[name]
        for p, (w, h) in enumerate(
            zip(partitioned(written, partitions), partitioned(kept, partitions), strict=True)
        ):
            parts[p].written[name], parts[p].held[name] = w, h
    return held, parts


def _less(ordered: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """Sorted ``ordered`` without one occurrence of each value of sorted ``removed`` (a sub-multiset)."""
    keep = np.ones(len(ordered), dtype=bool)
    at = np.searchsorted(ordered, removed, side="left")
    # the k-th removal of a value takes the k-th occurrence: offset by the rank among equal removals
    first = np.searchsorted(removed, removed, side="left")
    keep[at + (np.arange(len(removed)) - first)] = False
    return ordered[keep]


def reduce(
    existing: Mapping[str, np.ndarray], pieces: list[PieceKeys]
) -> tuple[dict[str, np.ndarray], list[bool]]:
    """One partition: per key name, the sorted hashes seen more than once over ``pieces`` and the
    table's ``existing`` hashes, and which pieces wrote a row with one of them."""
    found: dict[str, list[np.ndarray]] = {name: [values] for name, values in existing.items()}
    for piece in pieces:
        for kind in (piece.written, piece.held):
            for name, values in kind.items():
                found.setdefault(name, []).append(values)
    repeated = {name: contested(parts) for name, parts in found.items()}
    wrote = [
        any(_among(values, repeated[name]).any() for name, values in piece.written.items())
        for piece in pieces
    ]
    return repeated, wrote


def _joined(parts: list[np.ndarray], dtype: type = np.uint64) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype)


def _among(values: np.ndarray, sorted_hashes: np.ndarray) -> np.ndarray:
    """Mask of ``values`` present in ``sorted_hashes``."""
    if not len(sorted_hashes):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_hashes, values)
    return sorted_hashes[np.minimum(at, len(sorted_hashes) - 1)] == values


def partitioned(ordered: np.ndarray, partitions: int) -> list[np.ndarray]:
    """Sorted hashes split by ``hash % partitions``, each part still sorted (a reducer merges runs)."""
    part = ordered % np.uint64(partitions)
    return [ordered[part == np.uint64(p)] for p in range(partitions)]


def contested(parts: list[np.ndarray]) -> np.ndarray:
    """The hashes present more than once in ``parts`` (each sorted) together, sorted."""
    if not parts:
        return np.empty(0, np.uint64)
    return _repeats(np.sort(np.concatenate(parts), kind="stable"))  # timsort: merges the sorted runs


def _repeats(ordered: np.ndarray) -> np.ndarray:
    """The values present more than once in sorted ``ordered``, each once, sorted."""
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


def contested_rows(
    rules: RuleSet,
    typed: pa.RecordBatch,
    candidates: np.ndarray,
    hashes: Mapping[str, np.ndarray],
    con: duckdb.DuckDBPyConnection | None = None,
) -> np.ndarray:
    """Mask of the rows of ``typed`` (a validated batch) among ``candidates`` (they pass every other
    rule) that have a key in the contested ``hashes`` (per key name, sorted)."""
    held = np.zeros(typed.num_rows, dtype=bool)
    if not any(len(h) for h in hashes.values()):
        return held
    columns = {name: typed.column(name) for name in typed.schema.names}
    for name, values in key_values(rules, columns).items():
        wanted = hashes.get(name)
        if wanted is None or not len(wanted):
            continue
        present = as_mask(pc.is_valid(values))
        held |= _among(key_hashes(values, con), wanted) & present
    return held & candidates
