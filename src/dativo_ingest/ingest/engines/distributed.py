"""The Ray engine: the run's read-and-validate step as Ray tasks, the rest of the run unchanged.

The driver (the ``dativo run`` process) plans the input's pieces (:meth:`Source.pieces`: files, CSV byte
ranges, Parquet row groups, SQL key ranges), records where their data files go (:mod:`.staging`), and
runs one task per piece that reads, validates and writes a data file (:func:`.tasks.run_piece`). When
the contract has unique keys, the tasks also send their key hashes to reducers, which name the keys
seen more than once, and the few pieces that wrote a row with such a key are read again, holding those
rows back (:mod:`.keys`). The driver folds the results in the run's order into the same run context a
single-process run fills: counts, rule failures, quarantined rows with their positions in the whole
file, the incremental boundary, the bytes read; it resolves the held-back rows' uniqueness and stages
every data file, and the runner's own steps commit one snapshot (or nothing), record FinOps (the tasks'
CPU and memory included), lineage and quality.

A worker killed mid-task is retried by Ray (``engine.max_retries``); its file name is the same, so the
retry overwrites what the killed attempt wrote. A CSV range that turns out to be cut inside a quoted
value (an odd number of quote characters) makes the run read that file as one piece.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from itertools import groupby
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from dativo_ingest.errors import ConfigError, DataValidationError, IngestionError
from dativo_ingest.ingest.engines import keys, staging
from dativo_ingest.ingest.engines.tasks import PieceResult, RunSpec, TaskUsage, run_piece
from dativo_ingest.ingest.jobconfig import EngineConfig
from dativo_ingest.ingest.quarantine import quarantine_batch, quarantine_malformed
from dativo_ingest.ingest.sources.base import MalformedRow, Piece, RowPosition
from dativo_ingest.ingest.targets.iceberg import IcebergTarget
from dativo_ingest.ingest.validation import Validator
from dativo_ingest.logging import get_logger

if TYPE_CHECKING:
    from dativo_ingest.ingest.runner import RunContext

log = get_logger(__name__)


def connect(config: EngineConfig) -> Any:
    """The ``ray`` module, connected to the configured cluster (an existing connection is kept)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "engine type ray needs Ray: pip install 'dativo-ingest[ray]'", field="engine.type"
        ) from None
    if ray.is_initialized():
        return ray
    options: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    address = config.address
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS") or "local"
    if address != "local":
        _reachable(address)
    try:
        if address == "local":
            ray.init(address="local", num_cpus=config.parallelism, include_dashboard=False, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(
            f"cannot connect to the Ray cluster at {config.address!r}: {str(exc).splitlines()[0]} "
            "(start one with `ray start --head`, or set engine.address: local)",
            field="engine.address",
        ) from None
    _warm(ray, config)
    return ray


def _warm(ray: Any, config: EngineConfig) -> None:
    """Start a worker per CPU and have it import the engine before the run's first task: Ray starts a
    driver's workers on its first tasks, and each then imports dativo and pyiceberg (about a second
    each, which the key pass would otherwise wait for). Waits at most :data:`WARM_SECONDS`."""
    warm = ray.remote(num_cpus=1, scheduling_strategy="SPREAD")(_warm_task)
    refs = [warm.remote() for _ in range(_cpus(ray, config))]
    with contextlib.suppress(Exception):  # a slow or failed warm-up only leaves the workers cold
        ray.wait(refs, num_returns=len(refs), timeout=WARM_SECONDS)


#: How long connecting waits for the workers to start and import the engine.
WARM_SECONDS = 60.0


def _warm_task() -> int:
    return os.getpid()  # unpickling this function has imported the engine: the point of the task


def _reachable(address: str) -> None:
    """Fail in one line when nothing listens at a cluster address (Ray itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=5):
            return
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"cannot connect to the Ray cluster at {address!r}: {reason} (give host:port of a running "
            "cluster's head, or engine.address: local)",
            field="engine.address",
        ) from None


def read_and_validate(run: RunContext) -> None:
    """The Ray engine's read-and-validate step (see the module docstring)."""
    job, target = run.job, run.target
    if not isinstance(target, IcebergTarget):
        raise ConfigError("engine type ray writes Iceberg targets only", path=job.config_path, field="engine")
    ray = connect(job.engine)
    workers = _cpus(ray, job.engine)
    pieces = run.source.pieces(max(1, int(job.engine.split_mb * 1024 * 1024)), workers)
    run.announce_source()
    sink = target.data_file_sink(uuid.UUID(hex=run.result.run_id))
    spec = RunSpec(
        job.source.type,
        job.source.options,
        job.base_dir,
        job.batch_size,
        run.rules,
        run.incremental,
        run.boundary.key if run.boundary is not None else None,
        sink,
        strict=not run.warn_mode,
        parallel_rows=sys.maxsize,  # one core per task: validate inline
    )
    unique = bool(keys.key_names(run.rules))
    record = run.staging_record
    written = 0
    phases: dict[str, float] = {}  # wall time of the engine's phases
    try:
        spec_ref = ray.put(spec)
        started = time.perf_counter()
        while True:
            written = max(written, len(pieces))
            staging.record(record, run.result.run_key, sink, written)
            partitions = max(1, min(len(pieces), workers)) if unique else 0
            results, hashed = _read_pieces(ray, run, spec_ref, pieces, partitions)
            cut = {str(p.path) for p, r in zip(pieces, results, strict=True) if _cut(p, r)}
            if not cut:
                break
            sink.delete(range(written))
            log.info(
                "CSV range cut inside a quoted value: reading the file whole",
                extra={"fields": {"files": sorted(cut)}},
            )
            pieces = _whole(pieces, cut)
        usage = [r.usage for r in results]
        again: list[int] = []
        if unique:
            phases["first_read_seconds"] = round(time.perf_counter() - started, 3)
            contested, again = _contested(ray, run, hashed)
            reread, _ = _read_pieces(ray, run, spec_ref, [pieces[i] for i in again], 0, contested)
            for i, result in zip(again, reread, strict=True):
                if not result.data_files:  # the first read's file holds rows this read holds back
                    sink.delete([pieces[i].ordinal])
                results[i] = result
                usage.append(result.usage)
        phases["tasks_seconds"] = round(time.perf_counter() - started, 3)
        folding = time.perf_counter()
        if not run.warn_mode:
            _fail_strict(run, pieces, results)
        _merge(run, pieces, results)
        _record_usage(run, usage)
        phases["fold_seconds"] = round(time.perf_counter() - folding, 3)
        run.source.verify_unchanged()
    except BaseException:
        sink.delete(range(written))
        staging.release(record)
        raise
    run.result.engine = {**_summary(job.engine, results, usage), "pieces_read_again": len(again), **phases}


def _read_pieces(
    ray: Any,
    run: RunContext,
    spec_ref: Any,
    pieces: list[Piece],
    partitions: int,
    contested: dict[str, np.ndarray] | None = None,
) -> tuple[list[PieceResult], list[list[Any]]]:
    """Every piece as a task (:func:`.tasks.run_piece`): their results in order and, with
    ``partitions`` (unique keys, the first read), the object refs of each piece's key hashes."""
    engine = run.job.engine
    task = ray.remote(
        num_cpus=1, max_retries=engine.max_retries, retry_exceptions=False, scheduling_strategy="SPREAD"
    )(_piece_task).options(num_returns=1 + partitions)
    contested_ref = ray.put(contested or {})
    returned = [task.remote(spec_ref, piece, contested_ref, partitions) for piece in pieces]
    refs = [r[0] for r in returned] if partitions else returned
    hashed = [list(r[1:]) for r in returned] if partitions else []
    results = []
    done_rows = done_bad = 0
    for ref in refs:
        result = _get(ray, ref)
        results.append(result)
        done_rows += result.rows_read
        done_bad += sum(r.rows.num_rows for r in result.rejected) + len(result.malformed)
        if run.progress is not None and contested is None:
            run.progress(done_rows, done_bad)
    return results, hashed


def _contested(ray: Any, run: RunContext, hashed: list[list[Any]]) -> tuple[dict[str, np.ndarray], list[int]]:
    """Per unique key, the sorted hashes present more than once in the input (or also in the table),
    and the pieces that wrote a row with one of them (to be read again)."""
    partitions = len(hashed[0]) if hashed else 1
    reduce = ray.remote(num_cpus=1, max_retries=run.job.engine.max_retries, retry_exceptions=False)(
        _reduce_task
    )
    existing = _table_hashes(run, partitions)
    reducers = [reduce.remote(existing[p], *[refs[p] for refs in hashed]) for p in range(partitions)]
    found: dict[str, list[np.ndarray]] = {}
    again = np.zeros(len(hashed), dtype=bool)
    for part, wrote in (_get(ray, ref) for ref in reducers):
        again |= np.asarray(wrote, dtype=bool)
        for name, values in part.items():
            found.setdefault(name, []).append(values)
    contested = {name: np.sort(np.concatenate(parts)) for name, parts in found.items()}
    return contested, [int(i) for i in np.flatnonzero(again)]


def _table_hashes(run: RunContext, partitions: int) -> list[dict[str, np.ndarray]]:
    """``unique_against_table``: the hashes of the unique values already in the table, by partition."""
    parts: list[dict[str, np.ndarray]] = [{} for _ in range(partitions)]
    if not run.job.validation.unique_against_table:
        return parts
    for name, columns in keys.key_names(run.rules).items():
        if len(columns) > 1:
            continue  # composite keys are not checked against the table by single runs either
        hashes = [keys.hashes_of(values) for values in run.target.existing_values(name)]
        merged = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
        for p, values in enumerate(keys.partitioned(np.sort(merged), partitions)):
            parts[p][name] = values
    return parts


def _one_core() -> None:
    """A task holds one CPU of its node: Arrow's pools at one thread (the validator works inline, see
    :data:`RunSpec.parallel_rows`), so the tasks sharing a node do not fight over its cores. The
    worker's next task reuses the memory this one freed: jemalloc (the run's pool) returns freed pages
    to the kernel only after :data:`TASK_DECAY_MS`, not within about a second, so they are not faulted
    in again task after task (about 15% of a piece's CPU)."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    with contextlib.suppress(NotImplementedError, pa.ArrowNotImplementedError):
        pa.jemalloc_set_decay_ms(TASK_DECAY_MS)


#: How long a worker keeps the memory its tasks freed before returning it to the kernel.
TASK_DECAY_MS = 10_000


def _reduce_task(
    existing: dict[str, np.ndarray], *pieces: keys.PieceKeys
) -> tuple[dict[str, np.ndarray], list[bool]]:
    return keys.reduce(existing, list(pieces))


def _piece_task(
    spec: RunSpec, piece: Piece, contested: dict[str, np.ndarray], partitions: int
) -> PieceResult | tuple[Any, ...]:
    import ray

    _one_core()
    result, hashed = run_piece(spec, piece, contested, partitions)
    result.usage.node = ray.get_runtime_context().get_node_id()
    return (result, *hashed) if partitions else result


def _get(ray: Any, ref: Any) -> Any:
    """``ray.get``, re-raising a task's own error as itself (one line, no remote traceback)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, Exception):
            raise cause from None
        raise IngestionError(f"a Ray task failed: {str(exc).splitlines()[0]}") from None
    except ray.exceptions.RayError as exc:
        raise IngestionError(f"a Ray task failed: {str(exc).splitlines()[0]}") from None


def _cpus(ray: Any, engine: EngineConfig) -> int:
    return engine.parallelism or int(ray.cluster_resources().get("CPU", 1))


def _cut(piece: Piece, result: PieceResult) -> bool:
    """A CSV range that ends inside a quoted value (so the next one starts inside it)."""
    return result.quotes_odd and not piece.last_in_file


def _whole(pieces: list[Piece], files: set[str]) -> list[Piece]:
    """``pieces`` with the pieces of ``files`` replaced by one piece per file, renumbered."""
    planned: list[Piece] = []
    for piece in pieces:
        if piece.path in files:
            if piece.start == 0:
                planned.append(Piece(0, piece.path))
        else:
            planned.append(piece)
    return [replace(p, ordinal=i) for i, p in enumerate(planned)]


# ----- folding the results into the run -------------------------------------------------------------
def _merge(run: RunContext, pieces: list[Piece], results: list[PieceResult]) -> None:
    """The tasks' results, in the run's order, into the run (as a single process would have filled it)."""
    result, stats = run.result, run.source.stats
    target = run.target
    if not isinstance(target, IcebergTarget):
        raise TypeError("the Ray engine writes Iceberg targets only")
    held: Held = []
    for done, shift in zip(results, _offsets(pieces, results), strict=True):
        for rejected in done.rejected:
            rows = np.arange(rejected.rows.num_rows)
            positions = [shift(p) for p in rejected.positions]
            batch = quarantine_batch(run.identity, rejected.rows, rows, rejected.rules, positions)
            target.write_quarantine(batch)
            result.rows_quarantined += len(rows)
        if done.malformed:
            malformed = [_shift_malformed(m, shift) for m in done.malformed]
            target.write_quarantine(quarantine_malformed(run.identity, malformed))
            result.rows_quarantined += len(malformed)
        held += [(typed, raw, [shift(p) for p in positions]) for typed, raw, positions in done.held]
        target.stage_data_files(done.data_files)
        result.rows_read += done.rows_read
        result.rows_written += done.rows_written
        run.validator.failures.update(done.failures)
        run.validator.null_counts.update(done.null_counts)
        if run.boundary is not None and done.boundary is not None:
            run.boundary.merge(done.boundary)
        stats.bytes_read += done.bytes_read
        stats.api_calls += done.api_calls
        stats.warnings += [w for w in done.warnings if w not in stats.warnings]
        stats.files += [f for f in done.files if f not in stats.files]
    _resolve_held(run, held)


Held = list[tuple[pa.RecordBatch, pa.RecordBatch, list[RowPosition]]]  # typed rows, source rows, places


def _resolve_held(run: RunContext, held: Held) -> None:
    """The held-back rows (valid but for a contested key) decided (:func:`_decide_held`): the first of
    each key lands, the rest are quarantined."""
    if not held:
        return
    landing, failing, resolver = _decide_held(run, held)
    for part in landing:
        run.target.write(part)
        run.result.rows_written += part.num_rows
    for k, rows in groupby(failing, key=lambda failure: failure[0]):
        taken = list(rows)
        _, raw, positions = held[k]
        local = np.asarray([row for _, row, _ in taken])
        where = [positions[i] for i in local]
        batch = quarantine_batch(run.identity, raw, local, [rules for _, _, rules in taken], where)
        run.target.write_quarantine(batch)
        run.result.rows_quarantined += len(local)
    run.validator.failures.update({k: v for k, v in resolver.failures.items() if k.startswith("unique:")})


def _decide_held(
    run: RunContext, held: Held
) -> tuple[list[pa.RecordBatch], list[tuple[int, int, list[str]]], Validator]:
    """The held-back rows, in the run's order, through a validator that checks uniqueness as a single
    process does (primed with the table's values for ``unique_against_table``), as one batch (a call
    per piece's batch costs more than its rows): the rows that land, the failing ones as ``(index in
    held, row in that batch, rules)`` in the run's order, and the validator."""
    resolver = Validator(run.rules)
    if run.job.validation.unique_against_table:
        for column in run.rules.unique_columns:
            for values in run.target.existing_values(column):
                resolver.prime_unique(column, values)
    ends = np.cumsum([typed.num_rows for typed, _, _ in held])
    landing: list[pa.RecordBatch] = []
    failing: list[tuple[int, int, list[str]]] = []
    first = 0
    for batch in pa.Table.from_batches([typed for typed, _, _ in held]).combine_chunks().to_batches():
        outcome = resolver.validate(batch)
        landing += outcome.valid_parts()
        for row, rules in zip(outcome.failed_rows.tolist(), outcome.failed_rules, strict=True):
            at = first + row
            k = int(np.searchsorted(ends, at, side="right"))
            failing.append((k, at - (int(ends[k - 1]) if k else 0), rules))
        first += batch.num_rows
    return landing, failing, resolver


def _fail_strict(run: RunContext, pieces: list[Piece], results: list[PieceResult]) -> None:
    """Strict mode: fail on the run's first row that breaks the contract, in the run's order, as a single
    process would: a rejected or malformed row, or a repeat of a unique key (decided on the held-back
    rows of the pieces up to the first piece with a rejected row)."""
    shifts = list(_offsets(pieces, results))
    bad = next((i for i, done in enumerate(results) if done.rejected or done.malformed), None)
    upto = len(results) if bad is None else bad + 1
    owners = [i for i in range(upto) for _ in results[i].held]
    held: Held = [
        (typed, raw, [shifts[i](p) for p in positions])
        for i in range(upto)
        for typed, raw, positions in results[i].held
    ]
    failing = _decide_held(run, held)[1] if held else []
    if failing:
        k, row, _ = failing[0]
        position = held[k][2][row]
        if (
            bad is None
            or owners[k] < bad
            or (owners[k] == bad and _earlier(position, results[bad], shifts[bad]))
        ):
            shown = "; ".join(f"{held[j][2][r].short}: {', '.join(why)}" for j, r, why in failing[:3])
            raise DataValidationError(
                f"{len(failing)} row(s) break the contract in strict mode; nothing committed ({shown})",
                path=position.file,
                line=position.number if position.unit == "line" else None,
                failed_rules=dict(Counter(rule for _, _, why in failing for rule in why)),
            )
    if bad is not None:
        raise _strict_failure(results[bad], shifts[bad])


def _earlier(position: RowPosition, done: PieceResult, shift: Any) -> bool:
    """Whether ``position`` comes before the first rejected or malformed row of the piece ``done``."""
    firsts = [shift(r.positions[0]).number for r in done.rejected[:1]]
    firsts += [_shift_malformed(m, shift).line or 0 for m in done.malformed[:1]]
    return position.number < min(firsts)


def _record_usage(run: RunContext, usage: list[TaskUsage]) -> None:
    """The tasks' CPU (summed) and memory (each worker process's peak, summed) into the run's FinOps."""
    metrics = run.finops.metrics
    if metrics is None:
        return
    peaks: dict[str, float] = {}
    for task in usage:
        peaks[task.worker] = max(peaks.get(task.worker, 0.0), task.peak_rss_mb)
    metrics.record_cpu_time(sum(task.cpu_seconds for task in usage))
    if peaks:
        metrics.record_memory_usage(sum(peaks.values()))


def _offsets(pieces: list[Piece], results: list[PieceResult]) -> Iterable[Any]:
    """Per piece, the function that turns a position in the piece into one in its file (or the run)."""
    lines: Counter = Counter()
    records: Counter = Counter()
    rows = 0
    for piece, done in zip(pieces, results, strict=True):
        line_offset, record_offset, row_offset = lines[piece.path], records[piece.path], rows
        yield _shifter(piece, line_offset, record_offset, row_offset)
        lines[piece.path] += done.lines
        records[piece.path] += done.records
        rows += done.records


def _shifter(piece: Piece, line_offset: int, record_offset: int, row_offset: int) -> Any:
    def shift(position: RowPosition) -> RowPosition:
        if position.unit == "line":
            return replace(position, number=position.number + line_offset)
        if position.unit == "record":
            return replace(position, number=position.number + record_offset)
        if piece.path is None:  # databases and APIs number rows in the run
            return replace(position, number=position.number + row_offset)
        return position  # Parquet rows are numbered in their file already

    return shift


def _shift_malformed(row: MalformedRow, shift: Any) -> MalformedRow:
    if row.line is None:
        return row
    return replace(row, line=shift(RowPosition(row.path, row.line, "line")).number)


def _strict_failure(done: PieceResult, shift: Any) -> DataValidationError:
    """The first rows of a piece that break the contract, as a single strict run names them."""
    if done.malformed:
        first = _shift_malformed(done.malformed[0], shift)
        message = f"malformed row ({first.reason}) in strict mode; nothing committed"
        return DataValidationError(message, path=first.path, line=first.line)
    rejected = done.rejected[0]
    positions = [shift(p) for p in rejected.positions[:3]]
    shown = "; ".join(f"{p.short}: {', '.join(r)}" for p, r in zip(positions, rejected.rules, strict=False))
    first_position = positions[0]
    failed = Counter(rule for rules in rejected.rules for rule in rules)
    return DataValidationError(
        f"{rejected.rows.num_rows} row(s) break the contract in strict mode; nothing committed ({shown})",
        path=first_position.file,
        line=first_position.number if first_position.unit == "line" else None,
        failed_rules=dict(failed),
    )


def _summary(engine: EngineConfig, results: list[PieceResult], usage: list[TaskUsage]) -> dict[str, Any]:
    """What ``dativo run --json`` shows of the engine: pieces, nodes and worker processes used."""
    return {
        "type": "ray",
        "address": engine.address,
        "tasks": len(results),  # pieces (a run with unique keys has two tasks a piece)
        "nodes": len({u.node for u in usage}),
        "workers": len({u.worker for u in usage}),
        "worker_peak_rss_mb": round(max((u.peak_rss_mb for u in usage), default=0.0), 1),
        "task_cpu_seconds": round(sum(u.cpu_seconds for u in usage), 3),
    }
