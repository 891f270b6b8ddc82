"""JSON Lines files (one object per line; paths, folders, globs; ``.gz`` read transparently).

Lines are parsed in batches; a column whose values mix kinds (``1`` and ``"two"``) becomes text, so
validation rejects only the rows that do not fit the contract. Nested objects and arrays for a text
column are kept as JSON text. Blank lines are skipped; a line that is not a JSON object fails the run
with its file and line number.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest.sources.base import (
    Source,
    SourceOptions,
    common_name,
    expand_paths,
    files_fingerprint,
    filter_since,
    records_to_batch,
    since_value,
)


class JsonlOptions(SourceOptions):
    path: str | list[str]
    encoding: str = "utf-8"


class JsonlSource(Source):
    """Streams JSON Lines files as record batches."""

    type_name = "jsonl"
    Options = JsonlOptions
    options: JsonlOptions

    def _paths(self) -> list[Path]:
        if not hasattr(self, "_resolved"):
            self._resolved = expand_paths(
                self.options.path, self.context.base_dir, (".jsonl", ".json", ".ndjson")
            )
        return self._resolved

    def fingerprint(self) -> str:
        return files_fingerprint(self._paths())

    def dataset(self) -> tuple[str, str]:
        return "file", common_name(self._paths(), self.options.path)

    def batches(self) -> Iterator[pa.RecordBatch]:
        since = since_value(self.context.incremental)
        for path in self._paths():
            self.stats.files.append(str(path))
            self.stats.bytes_read += path.stat().st_size
            for batch in self._read(path):
                yield filter_since(batch, self.context.incremental, since)

    def _read(self, path: Path) -> Iterator[pa.RecordBatch]:
        opener = gzip.open if path.suffix == ".gz" else open
        records: list[dict] = []
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
                    if len(records) >= self.context.batch_size:
                        yield records_to_batch(records, self.context.columns)
                        records = []
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read file: {exc}", path=str(path)) from exc
        if records:
            yield records_to_batch(records, self.context.columns)
