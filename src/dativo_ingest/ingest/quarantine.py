"""Quarantine rows: the rejected source rows of a run, each with the rules it failed.

One row per rejected record: run and contract identity, ``source_row`` (the row's 1-based number: the
physical line for CSV and JSON Lines, the row in the file for Parquet, the row in the run for databases
and APIs), ``failed_rules`` (``required:email``, ``accepted_values:status``, ...), ``record`` (the row's
source values as JSON text, so nothing that failed to convert is lost), ``quarantined_at``, then
``source_file`` (null for databases and APIs) and ``source_location``, the place as errors name it
(``data/c.csv:12``, ``data/c.csv record 7``, ``p.parquet row 3``, ``page 2 row 250``). The last two were
added later, so older quarantine tables gain them as optional columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from dativo_ingest.ingest.sources.base import RowPosition, visible

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("run_key", pa.string(), nullable=False),
        pa.field("tenant_id", pa.string(), nullable=False),
        pa.field("job_name", pa.string(), nullable=False),
        pa.field("contract_id", pa.string()),
        pa.field("contract_version", pa.string()),
        pa.field("source_row", pa.int64(), nullable=False),
        pa.field("failed_rules", pa.list_(pa.string()), nullable=False),
        pa.field("record", pa.string(), nullable=False),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("source_file", pa.string()),
        pa.field("source_location", pa.string()),
    ]
)


@dataclass(frozen=True)
class RunIdentity:
    run_id: str
    run_key: str
    tenant_id: str
    job_name: str
    contract_id: str | None
    contract_version: str | None


def quarantine_batch(
    identity: RunIdentity,
    raw: pa.RecordBatch,
    rows: np.ndarray,
    rules: list[list[str]],
    positions: list[RowPosition],
    at: datetime | None = None,
) -> pa.RecordBatch:
    """Quarantine rows for the ``rows`` of ``raw`` (indexes into the batch) that failed ``rules``, found
    in the source at ``positions`` (:meth:`~dativo_ingest.ingest.sources.base.Source.locate`)."""
    taken = visible(raw).take(pa.array(np.asarray(rows, dtype=np.int64))).to_pylist()
    return _quarantine_batch(
        identity,
        at,
        source_row=[p.number for p in positions],
        failed_rules=rules,
        record=[json.dumps(r, sort_keys=True, default=str) for r in taken],
        source_file=[p.file for p in positions],
        source_location=[p.where for p in positions],
    )


def quarantine_malformed(identity: RunIdentity, rows: list, at: datetime | None = None) -> pa.RecordBatch:
    """Quarantine rows for source rows that could not be parsed (``failed_rules``: ``malformed_row``);
    ``record`` holds the file, line, raw text and reason, ``source_row`` the 1-based line."""
    return _quarantine_batch(
        identity,
        at,
        source_row=[r.line or 0 for r in rows],
        failed_rules=[["malformed_row"]] * len(rows),
        record=[
            json.dumps({"file": r.path, "line": r.line, "text": r.text, "reason": r.reason}) for r in rows
        ],
        source_file=[r.path for r in rows],
        source_location=[f"{r.path}:{r.line}" if r.line else r.path for r in rows],
    )


def _quarantine_batch(identity: RunIdentity, at: datetime | None, **per_row: list) -> pa.RecordBatch:
    """A quarantine batch: the run's identity and time on every row, plus the ``per_row`` columns."""
    count = len(per_row["record"])
    columns = {
        "run_id": [identity.run_id] * count,
        "run_key": [identity.run_key] * count,
        "tenant_id": [identity.tenant_id] * count,
        "job_name": [identity.job_name] * count,
        "contract_id": [identity.contract_id] * count,
        "contract_version": [identity.contract_version] * count,
        "quarantined_at": [at or datetime.now(UTC)] * count,
        **per_row,
    }
    return pa.RecordBatch.from_pydict(columns, schema=QUARANTINE_SCHEMA)
