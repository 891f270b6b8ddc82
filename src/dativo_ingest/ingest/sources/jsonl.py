"""JSON Lines files (one object per line; paths, folders, globs; ``.gz`` read transparently).

Lines are parsed in batches; a column whose values mix kinds (``1`` and ``"two"``) becomes text, so
validation rejects only the rows that do not fit the contract. Nested objects and arrays for a text
column are kept as JSON text. Blank lines are skipped; a line that is not a JSON object fails the run
with its file and line number. Each row carries its line number (blank lines counted), so a rejected
row is quarantined as ``file:line``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest.sources.base import ROW_COLUMN, FileOptions, FileSource, records_to_batch


class JsonlOptions(FileOptions):
    encoding: str = "utf-8"


class JsonlSource(FileSource):
    """Streams JSON Lines files as record batches."""

    type_name = "jsonl"
    Options = JsonlOptions
    options: JsonlOptions
    suffixes = (".jsonl", ".json", ".ndjson")
    position_unit = "line"

    def read_file(self, path: Path) -> Iterator[pa.RecordBatch]:
        opener = gzip.open if path.suffix == ".gz" else open
        records: list[dict] = []
        lines: list[int] = []
        try:
            with opener(path, "rt", encoding=self.options.encoding) as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise SourceError(f"invalid JSON: {exc.msg}", path=str(path), line=number) from None
                    if not isinstance(record, dict):
                        raise SourceError("each line must be a JSON object", path=str(path), line=number)
                    records.append(record)
                    lines.append(number)
                    if len(records) >= self.context.batch_size:
                        yield _batch(records, lines, self.context.columns)
                        records, lines = [], []
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read file: {exc}", path=str(path)) from exc
        if records:
            yield _batch(records, lines, self.context.columns)


def _batch(records: list[dict], lines: list[int], columns: dict[str, pa.DataType]) -> pa.RecordBatch:
    """The records as a batch, each with its line number in :data:`ROW_COLUMN`."""
    batch = records_to_batch(records, columns)
    return batch.append_column(ROW_COLUMN, pa.array(np.array(lines, dtype=np.int64)))
