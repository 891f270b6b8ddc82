"""Apache Iceberg through pyiceberg: one table per contract, one atomic snapshot per run.

Catalog: a SQL catalog on SQLite in the workspace (``warehouse/catalog.db``, data under
``warehouse/``) unless the job names another (``catalog: {type: rest, uri: ...}`` for a REST catalog
on object storage). The table is created from the contract's schema (required fields required). A
new contract version evolves it compatibly (new columns added as optional, widenings such as
int -> long applied, columns dropped from the contract or made optional relaxed to optional; every
other column keeps its required-ness); anything
else fails the run before data is written.

Atomicity: while the run streams, valid rows are written as Parquet data files under the table's
``data/`` folder (each file encoded in the background while the next rows are validated, with
pyiceberg's ``write_file``), but no snapshot references them. At the end the schema change (if any), the table
properties and every staged file land in ONE snapshot, in ONE catalog commit. A run killed before it
leaves the table at its previous snapshot (the unreferenced files are orphans, removed by ordinary
Iceberg orphan-file maintenance). The snapshot summary carries the run's commit properties (names in
:mod:`.base`, the run key among them); a run whose key is already in the table's history is not
committed again, so re-running the same run adds no rows.
Quarantined rows go to ``<table>_quarantine`` in the same namespace, committed the same way just before
the main table.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
from pyiceberg.exceptions import (
    CommitFailedException,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.io import load_file_io
from pyiceberg.io.pyarrow import pyarrow_to_schema, write_file
from pyiceberg.table import WriteTask
from pyiceberg.table.locations import load_location_provider

from dativo_ingest.errors import TargetError
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.quarantine import QUARANTINE_SCHEMA
from dativo_ingest.ingest.targets.base import (
    JOB,
    RUN_KEY,
    SNAPSHOT_ID,
    TABLE_QUARANTINE_OF,
    CommitInfo,
    Target,
    TargetDataset,
)
from dativo_ingest.ingest.targets.catalog import catalog_properties, describe_failure, load_catalog_for
from dativo_ingest.ingest.validation import BatchOutcome
from dativo_ingest.logging import get_logger, redact_text

log = get_logger(__name__)

#: Data files encoded at once, each on a thread of its own (encoding is most of a run's CPU after
#: decoding: with one at a time, the writer is the critical path on two cores).
WRITES_IN_FLIGHT = 2
#: Properties a table dativo creates starts with (the run's own properties win; a table created
#: elsewhere keeps its own). A 1 MB dictionary page, Parquet's own default (parquet-mr, Arrow), instead
#: of pyiceberg's 2 MB: a high-cardinality column gives up dictionary encoding sooner, which in the P1
#: benchmark writes 14 % fewer bytes with 10 % less encoding CPU.
CREATED_TABLE_PROPERTIES = {"write.parquet.dict-size-bytes": str(1 << 20)}
_COMMIT_ATTEMPTS = 12  # optimistic concurrency: writers sharing a catalog retry a lost commit race
_BACKOFF_BASE_SECONDS, _BACKOFF_CAP_SECONDS = 0.05, 3.0


def _backoff(attempt: int) -> float:
    """Seconds to wait before commit attempt ``attempt + 1``: capped exponential, full jitter."""
    return random.uniform(0, min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2**attempt))


def _commit_retries_as_info(record: logging.LogRecord) -> bool:
    """pyiceberg warns on each commit it retries after a concurrent update; with writers sharing a
    catalog that is routine, so it is logged as dativo's own INFO record (shown with --log-level INFO)."""
    if record.getMessage().startswith("Commit failed due to a concurrent update"):
        log.info(
            "commit conflict, retrying", extra={"fields": {"by": "pyiceberg", "detail": record.getMessage()}}
        )
        return False
    return True


logging.getLogger("pyiceberg.table").addFilter(_commit_retries_as_info)


class _StagedTable:
    """One Iceberg table being written by a run: an open transaction plus staged data files."""

    def __init__(self, catalog: Any, identifier: str, file_size_mb: int) -> None:
        self.catalog = catalog
        self.identifier = identifier
        self.file_bytes = file_size_mb * 1024 * 1024
        self.table: Any = None
        self.tx: Any = None
        self.files: list[Any] = []
        self.rows = 0
        self.bytes_written = 0
        # batches to write, each with the rows to leave out (dropped on the writer thread, not the run's)
        self._buffer: list[tuple[pa.RecordBatch, np.ndarray | None]] = []
        self._buffered = 0
        self._writer: ThreadPoolExecutor | None = None
        self._writing: deque[Future[list[Any]]] = deque()  # data files being written, oldest first
        self._uuid = uuid.uuid4()
        self._counter = itertools.count(0)
        self._schema_changes: list[tuple[str, Any]] = []

    def open(self, schema: pa.Schema, properties: dict[str, str]) -> list[str]:
        namespace = self.identifier.rsplit(".", 1)[0]
        try:
            _ensure_namespace(self.catalog, namespace)
            try:
                self.table = self.catalog.load_table(self.identifier)
                created = False
            except NoSuchTableError:
                try:
                    self.table = self.catalog.create_table(
                        self.identifier, schema=schema, properties={**CREATED_TABLE_PROPERTIES, **properties}
                    )
                    created = True
                except TableAlreadyExistsError:  # another writer created it since: use theirs
                    self.table = self.catalog.load_table(self.identifier)
                    created = False
        except TargetError:
            raise
        except Exception as exc:
            raise TargetError(
                f"cannot open Iceberg table {self.identifier}: {describe_failure(exc)}"
            ) from exc
        self._target_schema = schema
        self._properties = properties
        self._begin()
        return [f"created table {self.identifier}"] if created else self._notes

    def _begin(self) -> None:
        """Open a transaction on the current table and stage the evolution to the contract schema."""
        self.tx = self.table.transaction()
        self._notes = _evolve(self.tx, self.table.schema(), self._target_schema, self.identifier)

    def find_committed(self, run_key: str) -> dict[str, str] | None:
        return find_run(self.table, run_key)

    def stage(self, batch: pa.RecordBatch, leave_out: np.ndarray | None = None) -> None:
        """Buffer ``batch`` without the rows ``leave_out`` (ascending indexes) for the next data file."""
        kept = batch.num_rows - (len(leave_out) if leave_out is not None else 0)
        if not kept:
            return
        self._buffer.append((batch, leave_out if leave_out is not None and len(leave_out) else None))
        self._buffered += batch.nbytes
        self.rows += kept
        if self._buffered >= self.file_bytes:
            self._flush()

    def _flush(self) -> None:
        """Hand the buffered rows to a writer thread, after waiting for the oldest file when
        :data:`WRITES_IN_FLIGHT` are being written: the run validates the next rows while the files'
        failed rows are dropped and the files are encoded (pyiceberg's public ``write_file``)."""
        if not self._buffer:
            return
        while len(self._writing) >= WRITES_IN_FLIGHT:
            self._collect_oldest()
        buffered, self._buffer, self._buffered = self._buffer, [], 0
        metadata = self.tx.table_metadata
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=WRITES_IN_FLIGHT, thread_name_prefix="dativo-write")
        self._writing.append(
            self._writer.submit(
                _write_data_file, self.table.io, metadata, self._uuid, next(self._counter), buffered
            )
        )

    def _collect(self) -> None:
        """Wait for every data file being written and stage them for the commit, in order."""
        while self._writing:
            self._collect_oldest()

    def _collect_oldest(self) -> None:
        writing = self._writing.popleft()
        try:
            for data_file in writing.result():
                self.files.append(data_file)
                self.bytes_written += data_file.file_size_in_bytes
        except Exception as exc:
            raise TargetError(
                f"cannot write data files for {self.identifier}: {redact_text(str(exc))}"
            ) from exc
        pa.default_memory_pool().release_unused()  # hand the written buffer back: keeps peak RSS flat

    def discard(self) -> None:
        """Wait for a background write (so no file is written after an abort returns)."""
        with contextlib.suppress(TargetError):
            self._collect()
        self._close_writer()

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def commit(self, properties: dict[str, str]) -> str:
        self._flush()
        self._collect()
        self._close_writer()
        for attempt in range(1, _COMMIT_ATTEMPTS + 1):
            try:
                if self._properties:
                    self.tx.set_properties(self._properties)
                with self.tx.update_snapshot(snapshot_properties=properties).fast_append() as append:
                    for data_file in self.files:
                        append.append_data_file(data_file)
                self.table = self.tx.commit_transaction()
                return str(self.table.current_snapshot().snapshot_id)
            except CommitFailedException as exc:
                if attempt == _COMMIT_ATTEMPTS:
                    raise TargetError(
                        f"commit to {self.identifier} failed after {attempt} attempts: {exc}"
                    ) from exc
                log.info(
                    "commit conflict, retrying",
                    extra={"fields": {"table": self.identifier, "attempt": attempt}},
                )
                time.sleep(_backoff(attempt))
                self.table = self.catalog.load_table(self.identifier)
                if find_run(self.table, properties[RUN_KEY]) is not None:
                    return str(self.table.current_snapshot().snapshot_id)
                schema_id = self.tx.table_metadata.current_schema_id
                self._begin()
                if self.tx.table_metadata.current_schema_id != schema_id and self.files:
                    raise TargetError(f"{self.identifier} changed schema during the run; re-run it") from exc
            except TargetError:
                raise
            except Exception as exc:
                raise TargetError(f"commit to {self.identifier} failed: {describe_failure(exc)}") from exc
        raise AssertionError("unreachable")


def _ensure_namespace(catalog: Any, namespace: str) -> None:
    """Create ``namespace`` unless it exists; another writer creating it at the same time is fine."""
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except Exception:
        if not catalog.namespace_exists(namespace):
            raise


def _write_data_file(
    io: Any,
    metadata: Any,
    write_uuid: uuid.UUID,
    task_id: int,
    buffered: list[tuple[pa.RecordBatch, np.ndarray | None]],
) -> list[Any]:
    """One data file of ``buffered`` (each batch without its left-out rows), on the writer thread.
    ``buffered`` is emptied as its batches are filtered, so a batch and its copy are not both kept."""
    batches: list[pa.RecordBatch] = []
    buffered.reverse()
    while buffered:
        batch, leave_out = buffered.pop()
        batches.append(batch if leave_out is None else _without(batch, leave_out))
        del batch
    task = WriteTask(
        write_uuid=write_uuid,
        task_id=task_id,
        schema=pyarrow_to_schema(
            batches[0].schema,
            name_mapping=metadata.schema().name_mapping,
            format_version=metadata.format_version,
        ),
        record_batches=batches,
    )
    return list(write_file(io, metadata, iter([task])))


@dataclass(frozen=True)
class DataFileSink:
    """How tasks in other processes (a distributed run) write data files of a staged table: the table's
    location and properties, its FileIO properties and the staged metadata (the evolved schema). A
    file's name depends only on the run's ``write_uuid`` and the task, so a retried task overwrites what
    its killed attempt left, and the files of a run that never committed can be found and deleted."""

    location: str
    table_properties: dict[str, str]
    io_properties: dict[str, str]
    write_uuid: uuid.UUID
    metadata: Any = None  # pyiceberg TableMetadata to write with (not needed to find or delete files)

    def write(self, task_id: int, batches: list[tuple[pa.RecordBatch, np.ndarray | None]]) -> list[Any]:
        """One data file of ``batches`` (each without its left-out rows), as pyiceberg ``DataFile``s."""
        io = load_file_io(self.io_properties, self.location)
        return _write_data_file(io, self.metadata, self.write_uuid, task_id, batches)

    def path(self, task_id: int) -> str:
        """Where task ``task_id``'s data file is written."""
        name = f"00000-{task_id}-{self.write_uuid}.parquet"  # as WriteTask.generate_data_file_filename
        provider = load_location_provider(self.location, self.table_properties)
        return provider.new_data_location(data_file_name=name)

    def delete(self, task_ids: Iterable[int]) -> int:
        """Delete the data files of ``task_ids`` that exist; how many there were."""
        io = load_file_io(self.io_properties, self.location)
        deleted = 0
        for task_id in task_ids:
            path = self.path(task_id)
            if io.new_input(path).exists():
                io.delete(path)
                deleted += 1
        return deleted


def _without(batch: pa.RecordBatch, rows: np.ndarray) -> pa.RecordBatch:
    keep = np.ones(batch.num_rows, dtype=bool)
    keep[rows] = False
    return batch.filter(pa.array(keep))


def find_run(table: Any, run_key: str) -> dict[str, str] | None:
    """Summary properties of the snapshot carrying ``run_key`` in ``table``'s history, or None."""
    return _newest(table, RUN_KEY, run_key)


def _newest(table: Any, key: str, value: str) -> dict[str, str] | None:
    """Summary properties of the newest snapshot whose summary has ``key == value``, or None."""
    for snapshot in reversed(table.metadata.snapshots):
        summary = snapshot.summary
        if summary is not None and summary[key] == value:
            props = {k: str(v) for k, v in summary.model_dump().items()}
            props[SNAPSHOT_ID] = str(snapshot.snapshot_id)
            return props
    return None


def _evolve(tx: Any, current: Any, target: pa.Schema, identifier: str) -> list[str]:
    """Stage the compatible changes from the table's schema to the contract's; refuse the rest."""
    notes: list[str] = []
    existing = {f.name: f for f in current.fields}
    wanted = {f.name for f in target}
    relax = [
        name
        for name, f in existing.items()
        if f.required and (name not in wanted or target.field(name).nullable)
    ]
    added = [f.name for f in target if f.name not in existing]
    changed_types = []
    for field in target:
        if field.name in existing:
            new_type = _primitive_type(field)
            if new_type is not None and new_type != existing[field.name].field_type:
                changed_types.append((field.name, existing[field.name].field_type, new_type))
    if not (relax or added or changed_types):
        return notes
    # new columns come in optional; existing ones keep their required-ness (relaxed below when asked)
    merged = pa.schema(
        [f.with_nullable(f.name not in existing or not existing[f.name].required) for f in target]
    )
    try:
        with tx.update_schema() as update:
            update.union_by_name(merged)
            for name in relax:
                update.update_column(name, required=False)
    except Exception as exc:
        details = ", ".join(f"{n}: {old} -> {new}" for n, old, new in changed_types) or str(exc)
        raise TargetError(f"incompatible schema change for {identifier} ({details}): {exc}") from exc
    notes += [f"added column {name}" for name in added]
    notes += [f"widened {n} {old} -> {new}" for n, old, new in changed_types]
    notes += [f"made {name} optional" for name in relax]
    return notes


def _primitive_type(field: pa.Field) -> Any:
    """The Iceberg type of a primitive Arrow field (None for a nested one), by pyiceberg's public
    conversion, which wants field ids: the field is given one."""
    if pa.types.is_nested(field.type):
        return None
    with_id = field.with_metadata({b"PARQUET:field_id": b"1"})
    return pyarrow_to_schema(pa.schema([with_id])).fields[0].field_type


class IcebergTarget(Target):
    """Writes a run into ``namespace.table`` (and ``namespace.table_quarantine``)."""

    type_name = "iceberg"

    def __init__(
        self,
        catalog_config: CatalogConfig,
        warehouse: Path,
        namespace: str,
        table: str,
        quarantine_table: str | None = None,
        file_size_mb: int = 128,
    ) -> None:
        self.catalog_config = catalog_config
        self.warehouse = warehouse
        self.identifier = f"{namespace}.{table}"
        self.quarantine_identifier = f"{namespace}.{quarantine_table or table + '_quarantine'}"
        self.file_size_mb = file_size_mb
        self._catalog: Any = None
        self.main: _StagedTable | None = None
        self.quarantine: _StagedTable | None = None

    @property
    def catalog(self) -> Any:
        if self._catalog is None:
            self._catalog = load_catalog_for(self.catalog_config, self.warehouse)
        return self._catalog

    def open(self, schema: pa.Schema, *, quarantine: bool, table_properties: dict[str, str]) -> list[str]:
        self.main = _StagedTable(self.catalog, self.identifier, self.file_size_mb)
        notes = self.main.open(schema, table_properties)
        if quarantine:
            self.quarantine = _StagedTable(self.catalog, self.quarantine_identifier, self.file_size_mb)
            self.quarantine.open(QUARANTINE_SCHEMA, {TABLE_QUARANTINE_OF: self.identifier})
        return notes

    def find_committed(self, run_key: str) -> dict[str, str] | None:
        table = self._table()
        return find_run(table, run_key) if table is not None else None

    def last_commit(self, job: str) -> dict[str, str] | None:
        table = self._table()
        return _newest(table, JOB, job) if table is not None else None

    def _table(self) -> Any:
        """The main table (None when it does not exist yet)."""
        if self.main is not None:
            return self.main.table
        try:
            return self.catalog.load_table(self.identifier)
        except NoSuchTableError:
            return None

    def _opened(self) -> _StagedTable:
        if self.main is None:
            raise TargetError("the target is not open")
        return self.main

    def write(self, batch: pa.RecordBatch) -> None:
        self._opened().stage(batch)

    def write_valid(self, outcome: BatchOutcome) -> None:
        """The batch's valid rows: the failed ones are dropped on the writer thread (no copy here)."""
        self._opened().stage(outcome.typed, outcome.failed_rows)

    def data_file_sink(self, write_uuid: uuid.UUID) -> DataFileSink:
        """What tasks elsewhere need to write data files of the open table (:class:`DataFileSink`)."""
        main = self._opened()
        metadata = main.tx.table_metadata
        location, io_properties = main.table.location(), dict(main.table.io.properties)
        return DataFileSink(location, dict(metadata.properties), io_properties, write_uuid, metadata)

    def io_properties(self) -> dict[str, str]:
        """The open table's FileIO properties (credentials included: never store them)."""
        return dict(self._opened().table.io.properties)

    def stage_data_files(self, files: list[Any]) -> None:
        """Stage data files written elsewhere (:meth:`data_file_sink`) for the commit."""
        main = self._opened()
        for data_file in files:
            main.files.append(data_file)
            main.rows += data_file.record_count
            main.bytes_written += data_file.file_size_in_bytes

    def write_quarantine(self, batch: pa.RecordBatch) -> None:
        if self.quarantine is None:
            raise TargetError("quarantine is not open (strict mode)")
        self.quarantine.stage(batch)

    def commit(self, properties: dict[str, str]) -> CommitInfo:
        quarantine_snapshot = None
        quarantine_rows = 0
        if self.quarantine is not None and self.quarantine.rows:
            quarantine_rows = self.quarantine.rows
            if self.quarantine.find_committed(properties[RUN_KEY]) is None:
                quarantine_snapshot = self.quarantine.commit(properties)
        main = self._opened()
        snapshot = main.commit(properties)
        return CommitInfo(
            snapshot_id=snapshot,
            rows=main.rows,
            files=len(main.files),
            bytes_written=main.bytes_written + (self.quarantine.bytes_written if self.quarantine else 0),
            quarantine_rows=quarantine_rows,
            quarantine_snapshot_id=quarantine_snapshot,
            properties=properties,
        )

    def abort(self) -> None:
        for staged in (self.main, self.quarantine):
            if staged is not None:
                staged.discard()

    def existing_values(self, column: str) -> Iterator[pa.Array]:
        table = self.main.table if self.main is not None else self.catalog.load_table(self.identifier)
        if table.current_snapshot() is None:
            return
        for batch in table.scan(selected_fields=(column,)).to_arrow_batch_reader():
            yield batch.column(0)

    def dataset(self) -> TargetDataset:
        location = self.main.table.location() if self.main is not None else None
        warehouse = (self.catalog_config.warehouse or self.warehouse.as_uri()).rstrip("/")
        namespace, name = _location_dataset(location or f"{warehouse}/{self.identifier}")
        qnamespace, qname = namespace, f"{name}_quarantine"
        if self.quarantine is not None and self.quarantine.table is not None:
            qnamespace, qname = _location_dataset(self.quarantine.table.location())
        catalog = {
            "framework": "iceberg",
            "type": self.catalog_config.type,
            "name": self.catalog_config.name,
            "metadataUri": redact_text(catalog_properties(self.catalog_config, self.warehouse)["uri"]),
            "warehouseUri": str(self.catalog_config.warehouse or self.warehouse.as_uri()),
            "source": "pyiceberg",
        }
        return TargetDataset(
            namespace,
            name,
            self.identifier,
            catalog,
            quarantine=(qnamespace, qname, self.quarantine_identifier),
        )


def _location_dataset(location: str) -> tuple[str, str]:
    """OpenLineage naming of a table location: ``file`` + path, or ``s3://bucket`` + key."""
    parts = urlsplit(location)
    if parts.scheme in ("", "file"):
        return "file", parts.path
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")
