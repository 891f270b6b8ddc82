"""Vectorised validation of record batches against the contract's rules (Arrow compute, no per-row Python).

For each batch: every contract column is cast to its contract type (:mod:`~dativo_ingest.ingest.casting`),
then each rule yields a boolean mask of failing rows: ``type``, ``required``, ``accepted_values``,
``forbidden_values``, ``pattern``, ``minimum``/``maximum``, ``min_length``/``max_length`` and finally
``unique`` (within the run,
and against the table when the job asks; the first occurrence wins, and only rows that pass every other
rule take part, since only those land). Python touches only the failing rows, to list their rules.
Columns are cast and checked on worker threads, one task per column (NumPy, DuckDB and Arrow compute
release the GIL); the unique column's task also hashes and sorts its keys. Only the cross-batch part
of the unique check runs after, once the other rules have said which rows may take part.
Warning-severity rules (``warn:pattern:email``) are evaluated alongside and only counted.

Missing values: a null fails ``required``. An empty CSV field is read as null (see
:mod:`dativo_ingest.ingest.sources.csv`), so it counts as missing in a required column; elsewhere an
empty string is a value. Nulls pass every other rule (as in SQL and dbt tests).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dativo_ingest.ingest.casting import as_mask, try_cast
from dativo_ingest.ingest.rules import ADVISORY, ColumnRules, RuleSet
from dativo_ingest.ingest.uniqueness import Pending, SeenIndex, composite_key, in_run_order

_POOL: ThreadPoolExecutor | None = None
#: Batches smaller than this are validated inline (the default of ``Validator(parallel_rows=...)``).
PARALLEL_ROWS = 16384


def _pool() -> ThreadPoolExecutor | None:
    """The shared worker threads (None on a single core: work inline)."""
    global _POOL
    if _POOL is None and (os.cpu_count() or 1) > 1:
        workers = min(4, os.cpu_count() or 1)
        _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dativo-validate")
    return _POOL


@dataclass
class BatchOutcome:
    """One validated batch: every row typed as the contract, and the rows that fail, with their rules."""

    typed: pa.RecordBatch
    failed_rows: np.ndarray
    failed_rules: list[list[str]]
    rule_failures: Counter = field(default_factory=Counter)

    @property
    def failed_count(self) -> int:
        return int(self.failed_rows.size)

    @property
    def valid_count(self) -> int:
        return self.typed.num_rows - self.failed_count

    @cached_property
    def valid(self) -> pa.RecordBatch:
        """The rows that pass, as one batch (a copy when some rows fail)."""
        if not self.failed_count:
            return self.typed
        keep = np.ones(self.typed.num_rows, dtype=bool)
        keep[self.failed_rows] = False
        return self.typed.filter(pa.array(keep))

    def valid_parts(self, min_rows: int = 8192, max_parts: int = 16) -> list[pa.RecordBatch]:
        """The rows that pass: zero-copy slices between the failing rows when those are few, else one copy.

        Slices are used only while they stay large (``min_rows`` on average, at most ``max_parts``):
        writers encode many small chunks much more slowly than one copy costs.
        """
        parts = self.failed_count + 1
        if self.failed_count and (parts > max_parts or self.typed.num_rows < parts * min_rows):
            return [self.valid] if self.valid_count else []
        starts = np.concatenate(([0], self.failed_rows + 1))
        ends = np.concatenate((self.failed_rows, [self.typed.num_rows]))
        return [self.typed.slice(int(a), int(b - a)) for a, b in zip(starts, ends, strict=True) if b > a]


class Validator:
    """Validates a stream of batches; remembers unique values across the whole run."""

    def __init__(self, rules: RuleSet, parallel_rows: int = PARALLEL_ROWS, *, unique: bool = True) -> None:
        """``unique=False`` leaves the ``unique`` rules to the caller (a distributed run resolves them
        across its tasks, :mod:`dativo_ingest.ingest.engines.keys`)."""
        self.rules = rules
        self.parallel_rows = parallel_rows
        self.seen = {c.name: SeenIndex(c.type) for c in rules.columns if c.unique and unique}
        keys = rules.unique_keys if unique else []
        self.composite = {"+".join(key): key for key in keys}  # name -> its columns
        self._position = {c.name: i for i, c in enumerate(rules.columns)}
        self.seen.update({name: SeenIndex(pa.string()) for name in self.composite})
        self.failures: Counter = Counter()
        self.null_counts: Counter = Counter({c.name: 0 for c in rules.columns})  # source nulls per column

    def prime_unique(self, column: str, values: pa.Array) -> None:
        """Treat ``values`` (e.g. already in the table) as seen: new rows repeating them fail ``unique``."""
        index = self.seen.get(column)
        if index is not None and len(values):
            rules = self.rules.column(column)
            if rules is None:  # an index exists only for a column the rules declare unique
                return
            casted, _ = try_cast(values, rules.type)
            index.check_and_add(casted)

    def prime_unique_key(self, key: tuple[str, ...], values: dict[str, pa.Array]) -> None:
        """Treat the rows of ``values`` (the columns of composite key ``key``, e.g. already in the
        table) as seen: new rows repeating them fail ``unique:<a>+<b>``."""
        index = self.seen.get("+".join(key))
        if index is None or not len(values[key[0]]):
            return
        typed = []
        for name in key:
            rules = self.rules.column(name)
            typed.append(try_cast(values[name], rules.type)[0] if rules is not None else values[name])
        index.check_and_add(composite_key(typed))

    def validate(self, batch: pa.RecordBatch) -> BatchOutcome:
        """Validate one batch (cross-batch uniqueness included)."""
        return self._resolve(batch, self._gather(self._submit(batch)))

    def validate_stream(
        self, batches: Iterable[pa.RecordBatch]
    ) -> Iterator[tuple[pa.RecordBatch, BatchOutcome]]:
        """``(batch, outcome)`` for each batch, in order. The per-column work of the next batch runs on
        the workers while the unique check of the current one finishes (one batch ahead at most)."""
        ahead: tuple[pa.RecordBatch, list] | None = None
        for batch in batches:
            results = self._gather(ahead[1]) if ahead is not None else None
            submitted = self._submit(batch)  # only now: one prepare() per index at a time
            if ahead is not None and results is not None:
                yield ahead[0], self._resolve(ahead[0], results)
            ahead = (batch, submitted)
        if ahead is not None:
            yield ahead[0], self._resolve(ahead[0], self._gather(ahead[1]))

    def _submit(self, batch: pa.RecordBatch) -> list:
        """Per-column work for ``batch``: futures on the workers (costly columns first), or results."""
        columns = self.rules.columns
        pool = _pool() if batch.num_rows >= self.parallel_rows else None
        if pool is None:
            return [self._column(rules, batch) for rules in columns]
        costly = sorted(columns, key=lambda r: (not r.unique, not r.patterns))
        futures = {r.name: pool.submit(self._column, r, batch) for r in costly}
        return [futures[r.name] for r in columns]

    @staticmethod
    def _gather(submitted: list) -> list:
        return [item.result() if isinstance(item, Future) else item for item in submitted]

    def _resolve(self, batch: pa.RecordBatch, results: list) -> BatchOutcome:
        """Combine the column results, then the unique check against earlier batches."""
        n = batch.num_rows
        columns = self.rules.columns
        masks: dict[str, np.ndarray] = {}
        arrays: list[pa.Array] = []
        prepared: dict[str, Pending] = {}
        for rules, (converted, checks, keys) in zip(columns, results, strict=True):
            arrays.append(converted)
            self.null_counts[rules.name] += _source_nulls(batch, rules.name)
            if keys is not None:
                prepared[rules.name] = keys
            for rule, mask in checks:
                masks[f"{rule}:{rules.name}"] = mask
        counted = {rule: mask for rule, mask in masks.items() if rule.startswith(ADVISORY)}
        for rule in counted:
            del masks[rule]
        bad = np.zeros(n, dtype=bool)
        for mask in masks.values():
            bad |= mask
        for name, key in self.composite.items():
            prepared[name] = self.seen[name].prepare(self._composite_key(key, arrays))
        if self.seen:
            candidates = ~bad
            states, checked = {}, {}
            for name, keys in prepared.items():
                duplicate, states[name] = self.seen[name].check(keys, candidates)
                checked[name] = (keys, duplicate)
            for name, duplicate in in_run_order(checked, candidates).items():
                if duplicate.any():
                    masks[f"unique:{name}"] = duplicate
                    bad |= duplicate
            for name, state in states.items():
                self.seen[name].add(state, ~bad)
        counts = Counter({rule: int(mask.sum()) for rule, mask in masks.items() if mask.any()})
        self.failures.update(counts)
        self.failures.update({rule: int(mask.sum()) for rule, mask in counted.items()})
        table = pa.RecordBatch.from_arrays(arrays, schema=self.rules.schema)
        if not bad.any():
            return BatchOutcome(table, np.empty(0, dtype=np.int64), [], counts)
        failed_rows = np.flatnonzero(bad)
        position = {int(row): i for i, row in enumerate(failed_rows)}
        reasons: list[list[str]] = [[] for _ in failed_rows]
        for rule, mask in masks.items():
            for row in np.flatnonzero(mask):
                reasons[position[int(row)]].append(rule)
        return BatchOutcome(table, failed_rows, reasons, counts)

    def _composite_key(self, key: tuple[str, ...], arrays: list[pa.Array]) -> pa.Array:
        """The typed values of ``key``'s columns joined into one text per row (null when a part is)."""
        return composite_key([arrays[self._position[name]] for name in key])

    def _column(
        self, rules: ColumnRules, batch: pa.RecordBatch
    ) -> tuple[pa.Array, list[tuple[str, np.ndarray]], Pending | None]:
        """One column cast and checked (every rule but ``unique``), plus its prepared unique keys."""
        source = batch.column(rules.name) if rules.name in batch.schema.names else pa.nulls(batch.num_rows)
        converted, failed = try_cast(source, rules.type)
        index = self.seen.get(rules.name)
        keys = index.prepare(converted) if index is not None else None
        type_failed = as_mask(failed) if failed is not None else None
        checks = [("type", type_failed)] if type_failed is not None else []
        checks += _column_checks(rules, converted, type_failed)
        advisory = self.rules.advisory.get(rules.name)
        if advisory is not None:
            checks += [
                (ADVISORY + rule, mask) for rule, mask in _column_checks(advisory, converted, type_failed)
            ]
        return converted, checks, keys


def _source_nulls(batch: pa.RecordBatch, name: str) -> int:
    """Missing values of column ``name`` in the source batch (Arrow keeps the count: no scan)."""
    return batch.column(name).null_count if name in batch.schema.names else batch.num_rows


def _mismatch(text: pa.Array, pattern: str) -> np.ndarray:
    """Rows of ``text`` the regular expression ``pattern`` does not match."""
    return as_mask(pc.invert(pc.match_substring_regex(text, pattern)))


def _column_checks(
    rules: ColumnRules, values: pa.Array, type_failed: np.ndarray | None
) -> list[tuple[str, np.ndarray]]:
    """(rule, failing-rows mask) for every rule of one column except ``type`` and ``unique``."""
    checks: list[tuple[str, np.ndarray]] = []
    present = pc.is_valid(values)
    if rules.required and values.null_count:
        missing = as_mask(pc.invert(present))
        checks.append(("required", missing & ~type_failed if type_failed is not None else missing))
    if values.null_count != len(values):
        if rules.accepted is not None:
            allowed = pa.array([v.as_py() for v in rules.accepted], type=rules.type)
            checks.append(
                ("accepted_values", as_mask(pc.and_(present, pc.invert(pc.is_in(values, value_set=allowed)))))
            )
        if rules.forbidden is not None and rules.forbidden:
            banned = pa.array([v.as_py() for v in rules.forbidden], type=rules.type)
            checks.append(("forbidden_values", as_mask(pc.is_in(values, value_set=banned))))
        if rules.patterns:
            text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
            failing = _mismatch(text, rules.patterns[0])
            for pattern in rules.patterns[1:]:
                failing = failing | _mismatch(text, pattern)
            checks.append(("pattern", failing))
        if rules.minimum is not None:
            compare = pc.less_equal if rules.exclusive_minimum else pc.less
            checks.append(("minimum", as_mask(compare(values, rules.minimum))))
        if rules.maximum is not None:
            compare = pc.greater_equal if rules.exclusive_maximum else pc.greater
            checks.append(("maximum", as_mask(compare(values, rules.maximum))))
        if rules.min_length is not None or rules.max_length is not None:
            lengths = pc.utf8_length(values) if pa.types.is_string(values.type) else pc.binary_length(values)
            if rules.min_length is not None:
                checks.append(("min_length", as_mask(pc.less(lengths, rules.min_length))))
            if rules.max_length is not None:
                checks.append(("max_length", as_mask(pc.greater(lengths, rules.max_length))))
    return [(rule, mask) for rule, mask in checks if mask.any()]
