"""The data files a distributed run's tasks write before its commit, so that a run that dies before
committing leaves nothing behind for long: the next run of the job deletes them.

Before the tasks start, the driver records where their files go
(``.dativo/staging/<tenant>__<job>.json``: the table location and properties, the run's write
UUID and key, how many tasks). Task file names follow from those
(:class:`~dativo_ingest.ingest.targets.iceberg.DataFileSink`), so no listing of the object store is
needed. After the commit the record is dropped; a record still there when the job runs next (holding
the job's lock) belongs to a run that died: unless its key was committed, its files are deleted.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.ingest.targets.iceberg import DataFileSink
from dativo_ingest.logging import get_logger
from dativo_ingest.workspace import Workspace

log = get_logger(__name__)


def record_path(workspace: Workspace, tenant_id: str, job_name: str) -> Path:
    return workspace.state / "staging" / f"{tenant_id}__{job_name}.json"


def record(path: Path, run_key: str, sink: DataFileSink, tasks: int) -> None:
    """Note that up to ``tasks`` tasks of run ``run_key`` write data files through ``sink``."""
    payload = {
        "run_key": run_key,
        "location": sink.location,
        "table_properties": sink.table_properties,
        "write_uuid": str(sink.write_uuid),
        "tasks": tasks,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(payload, sort_keys=True) + "\n")


def release(path: Path) -> None:
    """The run committed (or cleaned up after itself): forget its record."""
    path.unlink(missing_ok=True)


def clean_orphans(path: Path, target: Any) -> int:
    """Delete the data files of an earlier run that died before its commit (call it holding the job's
    lock, with ``target`` open); how many files were deleted."""
    if not path.exists():
        return 0
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        sink = DataFileSink(
            payload["location"],
            dict(payload["table_properties"]),
            target.io_properties(),
            uuid.UUID(payload["write_uuid"]),
        )
        tasks, run_key = int(payload["tasks"]), str(payload["run_key"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fields = {"path": str(path), "error": str(exc)}
        log.warning("unreadable staging record ignored", extra={"fields": fields})
        release(path)
        return 0
    deleted = 0 if target.find_committed(run_key) is not None else sink.delete(range(tasks))
    if deleted:
        log.info(
            "deleted data files of a run that did not commit",
            extra={"fields": {"files": deleted, "run_key": run_key[:12], "location": sink.location}},
        )
    release(path)
    return deleted
