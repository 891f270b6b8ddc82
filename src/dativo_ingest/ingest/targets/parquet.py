"""A folder of Parquet files: one file per run, written to a hidden temporary name and renamed at commit.

``<path>/part-<run key>.parquet`` holds the run's valid rows, ``<path>/_quarantine/part-<run key>.parquet``
its quarantined rows, and ``<path>/_dativo/runs/<run key>.json`` the commit properties (its presence is
what "already committed" means). Until the rename, readers globbing ``*.parquet`` see nothing of the run;
a killed run leaves only a hidden ``.part-*.tmp`` file. Re-running the same run rewrites the same name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dativo_ingest.errors import TargetError
from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.ingest.quarantine import QUARANTINE_SCHEMA
from dativo_ingest.ingest.targets.base import JOB, RUN_KEY, CommitInfo, Target, TargetDataset


class _StagedFile:
    def __init__(self, final: Path, schema: pa.Schema, tag: str) -> None:
        self.final = final
        self.temp = final.with_name(f".{final.stem}.{tag}.tmp")
        self.schema = schema
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if self.writer is None:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.temp, self.schema, compression="zstd")
        self.writer.write_batch(batch)
        self.rows += batch.num_rows

    def publish(self) -> int:
        if self.writer is None:
            return 0
        self.writer.close()
        with open(self.temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self.temp, self.final)
        return self.final.stat().st_size

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.temp.unlink(missing_ok=True)


class ParquetTarget(Target):
    """Writes each run as one Parquet file in a folder."""

    type_name = "parquet"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.main: _StagedFile | None = None
        self.quarantine: _StagedFile | None = None
        self._key: str | None = None

    def open(self, schema: pa.Schema, *, quarantine: bool, table_properties: dict[str, str]) -> list[str]:
        self._schema = schema
        self._quarantine = quarantine
        return []

    def _marker(self, run_key: str) -> Path:
        return self.path / "_dativo" / "runs" / f"{run_key}.json"

    def begin(self, run_key: str, run_id: str) -> None:
        """Name the staged files after the run (called by the runner before the first write)."""
        self._key = run_key
        self.main = _StagedFile(self.path / f"part-{run_key[:24]}.parquet", self._schema, run_id[:8])
        if self._quarantine:
            self.quarantine = _StagedFile(
                self.path / "_quarantine" / f"part-{run_key[:24]}.parquet", QUARANTINE_SCHEMA, run_id[:8]
            )

    def find_committed(self, run_key: str) -> dict[str, str] | None:
        marker = self._marker(run_key)
        if not marker.is_file():
            return None
        return json.loads(marker.read_text(encoding="utf-8"))

    def last_commit(self, job: str) -> dict[str, str] | None:
        markers = sorted(
            (self.path / "_dativo" / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True
        )
        for marker in markers:
            props = json.loads(marker.read_text(encoding="utf-8"))
            if props.get(JOB) == job:
                return props
        return None

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            if self.main is None:
                raise TargetError("the target is not open")
            self.main.write(batch)

    def write_quarantine(self, batch: pa.RecordBatch) -> None:
        if self.quarantine is None:
            raise TargetError("quarantine is not open (strict mode)")
        self.quarantine.write(batch)

    def commit(self, properties: dict[str, str]) -> CommitInfo:
        try:
            written = self.main.publish() if self.main else 0
            if self.quarantine is not None:
                written += self.quarantine.publish()
            atomic_write_text(
                self._marker(properties[RUN_KEY]), json.dumps(properties, sort_keys=True, indent=1)
            )
        except OSError as exc:
            raise TargetError(f"cannot write Parquet target: {exc}", path=str(self.path)) from exc
        return CommitInfo(
            snapshot_id=None,
            rows=self.main.rows if self.main else 0,
            files=1 if self.main and self.main.rows else 0,
            bytes_written=written,
            quarantine_rows=self.quarantine.rows if self.quarantine else 0,
            properties=properties,
        )

    def abort(self) -> None:
        for staged in (self.main, self.quarantine):
            if staged is not None:
                staged.discard()

    def dataset(self) -> TargetDataset:
        return TargetDataset(
            "file",
            str(self.path),
            str(self.path),
            {},
            quarantine=("file", str(self.path / "_quarantine"), str(self.path / "_quarantine")),
        )
