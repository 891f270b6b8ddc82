"""Uniqueness across the tasks of a distributed run, exactly as one process would decide it.

A single-process run keeps, for every unique key (a ``unique`` column or a composite ``unique_key``),
the first row that passes every other rule; later rows with that key are quarantined ``unique:<key>``.
Across tasks that needs one global order, so the decision is split in two:

1. every task hashes its rows' keys (:func:`piece_key_hashes`) and sends each hash to the reducer of its
   hash partition; a reducer returns the hashes seen more than once (:func:`contested`), together with
   the hashes of the values already in the table when the job checks uniqueness against it;
2. rows whose keys were all seen once are unique whatever the order, and each task writes them; the few
   rows with a contested key that pass every other rule are held back (:func:`contested_rows`) and the
   driver runs them, in the run's order, through the same :class:`~dativo_ingest.ingest.validation.Validator`
   a single process uses.

Hashes only decide which rows are held back, never which row is a duplicate: two values sharing a
hash are both held back and told apart on their values by the validator.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dativo_ingest.ingest.casting import as_mask, try_cast
from dativo_ingest.ingest.rules import RuleSet
from dativo_ingest.ingest.uniqueness import composite_key, key_hashes


def key_names(rules: RuleSet) -> dict[str, tuple[str, ...]]:
    """Each unique key's rule name (``id``, ``a+b``) and its columns."""
    keys: dict[str, tuple[str, ...]] = {name: (name,) for name in rules.unique_columns}
    keys.update({"+".join(key): key for key in rules.unique_keys})
    return keys


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


def typed_keys(rules: RuleSet, batch: pa.RecordBatch) -> dict[str, pa.Array]:
    """:func:`key_values` of a source batch, its key columns cast to their contract types (a value that
    does not cast is null: its row fails ``type`` and takes no part)."""
    typed = {}
    for name in {c for columns in key_names(rules).values() for c in columns}:
        column = rules.column(name)
        source = batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows)
        typed[name] = try_cast(source, column.type)[0] if column is not None else source
    return key_values(rules, typed)


def hashes_of(values: pa.Array, con: duckdb.DuckDBPyConnection | None = None) -> np.ndarray:
    """The 64-bit keys of the non-null ``values``."""
    present = as_mask(pc.is_valid(values))
    hashed = key_hashes(values, con)
    return hashed if present.all() else hashed[present]


def partitioned(hashes: np.ndarray, partitions: int) -> list[np.ndarray]:
    """``hashes`` split by ``hash % partitions``, each part sorted (so a reducer merges sorted runs)."""
    ordered = np.sort(hashes)
    part = ordered % np.uint64(partitions)
    return [ordered[part == np.uint64(p)] for p in range(partitions)]


def contested(parts: list[np.ndarray]) -> np.ndarray:
    """The hashes present more than once in ``parts`` (each sorted) together, sorted."""
    if not parts:
        return np.empty(0, np.uint64)
    merged = np.sort(np.concatenate(parts), kind="stable")  # timsort: merges the sorted runs
    repeated = merged[1:][merged[1:] == merged[:-1]]
    return np.unique(repeated)


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
        keys = key_hashes(values, con)
        at = np.searchsorted(wanted, keys)
        found = wanted[np.minimum(at, len(wanted) - 1)] == keys
        held |= found & present
    return held & candidates
