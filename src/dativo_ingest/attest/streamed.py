"""Iceberg tables and files tested by streaming their record batches through the ingestion validator.

The rules are ingestion's own (:func:`~dativo_ingest.ingest.rules.compile_rules`) and the batches go
through the same :class:`~dativo_ingest.ingest.validation.Validator`, so a check fails at rest exactly
where a run would have quarantined the row. Memory stays bounded: an Iceberg scan projects the contract's
columns, pushes ``--filter`` (a pyiceberg expression: ``day >= '2024-01-01' and status = 'paid'``) down
to file pruning and is read batch by batch; files are read by the ingestion sources' readers (CSV, JSONL,
Parquet), ``--filter`` there being a SQL predicate DuckDB applies to each batch.

Uniqueness is counted over the whole stream (:class:`~dativo_ingest.ingest.uniqueness.SeenIndex`, memory
proportional to the distinct keys), on every row with a value (not only rows passing the other rules, as
during ingestion), so it agrees with the databases' ``GROUP BY``. Several checks of one kind on a column
are enforced combined (the tightest bounds, every pattern), as during ingestion; each reports the
combined count. SQL rules and relationships need a SQL engine over the table: they are reported skipped.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.expressions.parser import parse
from pyiceberg.io.pyarrow import ArrowScan

from dativo_ingest.attest.results import (
    SKIPPED,
    CheckResult,
    measured,
    metric_result,
    outcome,
)
from dativo_ingest.attest.servers import Server
from dativo_ingest.attest.sqlengine import parse_filter
from dativo_ingest.errors import DativoError, SourceError, UsageError
from dativo_ingest.ingest.check_results import rule_names
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.rules import compile_rules
from dativo_ingest.ingest.schema import arrow_field
from dativo_ingest.ingest.sources import SourceContext, build_source
from dativo_ingest.ingest.sources.base import HIDDEN_PREFIX
from dativo_ingest.ingest.sources.prefetch import prefetch
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from dativo_ingest.ingest.uniqueness import SeenIndex, composite_key
from dativo_ingest.ingest.validation import Validator
from dativo_ingest.logging import redact_text
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.quality import (
    Check,
    ColumnMetric,
    Relationship,
    RowCount,
    SqlCheck,
    Unique,
    UniqueKey,
)


@dataclass
class StreamRun:
    rows_checked: int
    results: list[CheckResult]
    warnings: list[str] = field(default_factory=list)
    batches: int = 0


class _Uniqueness:
    """Repeats of one key over the whole stream (first occurrence wins; nulls never repeat)."""

    def __init__(self, key: tuple[str, ...], value_type: pa.DataType) -> None:
        self.key = key
        self.index = SeenIndex(pa.string() if len(key) > 1 else value_type)
        self.repeats = 0
        self.repeated: list[pa.Array] = []

    def values(self, typed: pa.RecordBatch) -> pa.Array:
        if len(self.key) == 1:
            return typed.column(self.key[0])
        return composite_key([typed.column(name) for name in self.key])

    def add(self, typed: pa.RecordBatch) -> np.ndarray:
        values = self.values(typed)
        duplicate = self.index.check_and_add(values)
        count = int(duplicate.sum())
        if count:
            self.repeats += count
            self.repeated.append(pc.unique(values.filter(pa.array(duplicate))))
        return duplicate

    def duplicated_values(self) -> int:
        if not self.repeated:
            return 0
        return len(pc.unique(pa.concat_arrays(self.repeated)))


def _batches(
    server: Server, asset: AssetDefinition, where: str | None, warnings: list[str]
) -> Iterator[pa.RecordBatch]:
    if server.kind == "iceberg":
        return _iceberg(server, asset, where, warnings)
    return _files(server, asset, where, warnings)


def _iceberg(
    server: Server, asset: AssetDefinition, where: str | None, warnings: list[str]
) -> Iterator[pa.RecordBatch]:
    if server.catalog is None or server.warehouse is None:
        raise SourceError(f"{server.describe()}: no Iceberg catalog")
    catalog = load_catalog_for(CatalogConfig(**server.catalog), server.warehouse)
    try:
        table = catalog.load_table(f"{server.schema}.{server.table}")
    except NoSuchTableError:
        raise SourceError(f"{server.describe()}: table {server.qualified_table} not found") from None
    except Exception as exc:
        raise SourceError(f"{server.describe()}: cannot open the table: {redact_text(str(exc))}") from None
    present = [f.name for f in table.schema().fields]
    _compare_columns(server, asset, present, warnings)
    wanted = tuple(f.name for f in asset.fields if f.name in present)
    row_filter: Any = AlwaysTrue()
    if where:
        try:
            row_filter = parse(where)
        except Exception as exc:
            at = getattr(exc, "col", None)
            where_at = f" (at column {at})" if at else ""
            raise UsageError(
                f"--filter {where!r} does not parse as an Iceberg expression{where_at}; "
                "write e.g. \"day >= '2024-01-01' and status = 'paid'\""
            ) from None
    try:
        scan = table.scan(row_filter=row_filter, selected_fields=wanted or ("*",))
        tasks = list(scan.plan_files())
        reader = ArrowScan(table.metadata, table.io, scan.projection(), scan.row_filter)
    except (ValueError, KeyError) as exc:
        raise UsageError(f"--filter {where!r} on {server.qualified_table}: {exc}") from None

    def read() -> Iterator[pa.RecordBatch]:
        # one data file at a time (pyiceberg's own batch reader decodes every file of the scan at once),
        # the next one decoded ahead on a background thread
        for task in tasks:
            yield from reader.to_record_batches([task])

    return prefetch(read(), depth=4)


def _files(
    server: Server, asset: AssetDefinition, where: str | None, warnings: list[str]
) -> Iterator[pa.RecordBatch]:
    columns = {f.name: arrow_field(f).type for f in asset.fields}
    context = SourceContext(base_dir=server.base_dir, columns=columns)
    try:
        source = build_source(
            server.file_format or "parquet", {"path": server.paths, **server.options}, context
        )
        paths = source.paths()  # type: ignore[attr-defined]
    except DativoError as exc:
        raise SourceError(f"{server.describe()}: {exc}") from None
    if not paths:
        raise SourceError(f"{server.describe()}: no files found")
    predicate = _duck_predicate(where)
    _compare_columns(
        server, asset, _file_columns(paths[0], server.file_format or "parquet", server), warnings
    )

    def read() -> Iterator[pa.RecordBatch]:
        con = duckdb.connect() if predicate else None
        try:
            for batch in source.batches():
                batch = batch.select([n for n in batch.schema.names if not n.startswith(HIDDEN_PREFIX)])
                if con is not None:
                    try:
                        batch = _apply_predicate(con, batch, predicate or "")
                    except duckdb.Error as exc:
                        first = str(exc).splitlines()[0]
                        raise UsageError(f"--filter {where!r} on {server.describe()}: {first}") from None
                yield batch
        finally:
            source.close()
            if con is not None:
                con.close()

    return read()


def _file_columns(path: Path, file_format: str, server: Server) -> list[str]:
    """The columns of a file as written (the readers project the contract's columns only)."""
    try:
        if file_format == "parquet":
            return list(pq.read_schema(path).names)
        with path.open(encoding="utf-8") as handle:
            first = handle.readline()
        if file_format == "csv":
            return next(csv.reader([first], delimiter=str(server.options.get("delimiter", ","))), [])
        record = json.loads(first) if first.strip() else {}
        return list(record) if isinstance(record, dict) else []
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise SourceError(f"{server.describe()}: cannot read {path}: {exc}") from None


def _duck_predicate(where: str | None) -> str | None:
    parsed = parse_filter(where, "duckdb")
    return parsed.sql(dialect="duckdb") if parsed is not None else None


def _apply_predicate(con: duckdb.DuckDBPyConnection, batch: pa.RecordBatch, predicate: str) -> pa.RecordBatch:
    con.register("batch", batch)
    try:
        table = con.sql(f"SELECT * FROM batch WHERE {predicate}").to_arrow_table()
    finally:
        con.unregister("batch")
    combined = table.combine_chunks()
    batches = combined.to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=batch.schema)


def _compare_columns(server: Server, asset: AssetDefinition, present: list[str], warnings: list[str]) -> None:
    contract = {f.name for f in asset.fields}
    extra = sorted(set(present) - contract)
    if extra:
        warnings.append(f"{server.describe()}: columns not in the contract: {', '.join(extra)} (not checked)")
    missing = sorted(contract - set(present))
    if missing:
        warnings.append(
            f"{server.describe()}: contract columns missing from the data: "
            f"{', '.join(missing)} (read as null)"
        )


def run_streamed(
    server: Server, asset: AssetDefinition, checks: list[tuple[str, Check]], where: str | None, sample: int
) -> StreamRun:
    """Run ``checks`` over the server's batches; errors are one line naming server/table."""
    warnings: list[str] = []
    rules = compile_rules(asset)
    for column in rules.columns:  # uniqueness is counted below over every row with a value
        column.unique = False
    rules.unique_keys = []
    validator = Validator(rules)
    types = {c.name: c.type for c in rules.columns}
    unique: dict[str, _Uniqueness] = {}
    metrics: dict[str, int] = {}
    for cid, check in checks:
        key = _key_of(check)
        if isinstance(check, (Unique, UniqueKey)) or (
            isinstance(check, ColumnMetric) and check.metric == "duplicate_values"
        ):
            if key and all(k in types for k in key):
                unique[cid] = _Uniqueness(key, types[key[0]])
        elif isinstance(check, ColumnMetric):
            metrics[cid] = 0
    samples: dict[str, list[dict[str, Any]]] = {}
    wanted_rules = {name for _, check in checks for name in rule_names(check)} | {f"type:{n}" for n in types}
    total = batches = 0
    stream = _batches(server, asset, where, warnings)
    try:
        for _, out in validator.validate_stream(stream):
            batches += 1
            typed = out.typed
            total += typed.num_rows
            if sample and out.failed_count:
                _collect(samples, out.failed_rows, out.failed_rules, typed, wanted_rules, sample)
            for cid, tracker in unique.items():
                duplicate = tracker.add(typed)
                if sample and duplicate.any() and len(samples.setdefault(cid, [])) < sample:
                    rows = np.flatnonzero(duplicate)[: sample - len(samples[cid])]
                    samples[cid] += typed.take(pa.array(rows)).to_pylist()
            for cid, check in checks:
                if cid in metrics and isinstance(check, ColumnMetric):
                    metrics[cid] += _metric_failures(check, typed)
    except DativoError:
        raise
    except (OSError, pa.ArrowException) as exc:
        raise SourceError(f"{server.describe()}: cannot read the data: {redact_text(str(exc))}") from None
    failures: Counter = validator.failures
    results: list[CheckResult] = []
    for cid, check in checks:
        results.append(
            _result(cid, check, total, failures, unique, metrics, validator.null_counts, samples, server)
        )
    for name in sorted(types):
        count = failures.get(f"type:{name}", 0)
        if count:
            result = CheckResult(f"type:{name}", "type", name, "error", "failed", total, count)
            result.reason = f"values that are not {types[name]}"
            result.examples = samples.get(f"type:{name}", [])
            results.append(result)
    return StreamRun(total, results, warnings, batches)


def _collect(
    samples: dict[str, list[dict[str, Any]]],
    failed_rows: np.ndarray,
    failed_rules: list[list[str]],
    typed: pa.RecordBatch,
    wanted: set[str],
    limit: int,
) -> None:
    """Up to ``limit`` failing rows per rule (Python touches only failing rows, and stops once full)."""
    open_rules = {n for n in wanted if len(samples.get(n, ())) < limit}
    if not open_rules:
        return
    picks: dict[str, list[int]] = {}
    for row, names in zip(failed_rows.tolist(), failed_rules, strict=True):
        for name in names:
            if name in open_rules:
                chosen = picks.setdefault(name, [])
                chosen.append(row)
                if len(samples.get(name, ())) + len(chosen) >= limit:
                    open_rules.discard(name)
        if not open_rules:
            break
    for name, rows in picks.items():
        samples.setdefault(name, []).extend(typed.take(pa.array(rows)).to_pylist())


def _metric_failures(check: ColumnMetric, typed: pa.RecordBatch) -> int:
    if check.column is None or check.column not in typed.schema.names:
        return 0
    values = typed.column(check.column)
    if check.metric == "null_values":
        return values.null_count
    if check.metric == "missing_values":
        missing = pc.is_null(values)
        if check.values:
            listed = pa.array([v for v in check.values if v is not None]).cast(values.type, safe=False)
            missing = pc.or_(missing, pc.fill_null(pc.is_in(values, value_set=listed), False))
        return int(pc.sum(missing).as_py() or 0)
    bad = pa.array(np.zeros(len(values), dtype=bool))
    if check.values:
        listed = pa.array([v for v in check.values if v is not None]).cast(values.type, safe=False)
        bad = pc.or_(bad, pc.invert(pc.is_in(values, value_set=listed)))
    if check.pattern:
        text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
        bad = pc.or_(bad, pc.invert(pc.match_substring_regex(text, check.pattern)))
    return int(pc.sum(pc.fill_null(bad, False)).as_py() or 0)


def _key_of(check: Check) -> tuple[str, ...]:
    columns = tuple(getattr(check, "columns", ()) or ())
    return columns or ((check.column,) if check.column else ())


def _result(
    cid: str,
    check: Check,
    total: int,
    failures: Counter,
    unique: dict[str, _Uniqueness],
    metrics: dict[str, int],
    nulls: Counter,
    samples: dict[str, list[dict[str, Any]]],
    server: Server,
) -> CheckResult:
    def made(failed: int) -> CheckResult:
        return CheckResult(
            cid,
            check.kind,
            check.column,
            check.severity,
            outcome(check, failed > 0),
            total,
            failed,
            written_at=check.origin.path,
        )

    def metric(failed: int) -> CheckResult:
        assert isinstance(check, ColumnMetric)
        return metric_result(cid, check, failed, total)

    if cid in unique:
        tracker = unique[cid]
        if isinstance(check, ColumnMetric):
            return metric(tracker.repeats)
        result = made(tracker.repeats)
        result.duplicated_values = tracker.duplicated_values()
        result.examples = samples.get(cid, [])
        return result
    if cid in metrics:
        assert isinstance(check, ColumnMetric)
        failed = nulls.get(check.column or "", 0) if check.metric == "null_values" else metrics[cid]
        return metric(failed)
    names = rule_names(check)
    if names:
        result = made(sum(failures.get(n, 0) for n in names))
        if result.failed:
            result.examples = [row for n in names for row in samples.get(n, [])]
        return result
    if isinstance(check, RowCount):
        return measured(cid, check, total, float(total))
    what = (
        "SQL rules"
        if isinstance(check, SqlCheck)
        else "relationships"
        if isinstance(check, Relationship)
        else f"{check.kind} checks"
    )
    engine = "Iceberg tables" if server.kind == "iceberg" else "files"
    return CheckResult(
        cid,
        check.kind,
        check.column,
        check.severity,
        SKIPPED,
        reason=f"{what} need a SQL engine over the table; not run on {engine}",
        written_at=check.origin.path,
    )
