"""Parquet files (paths, folders, globs), streamed in batches; only contract columns are read.

The next batches are decoded on a background thread while the current one is validated
(:func:`~dativo_ingest.ingest.sources.prefetch.prefetch`, two batches ahead at most); that thread
decodes columns one after the other (``use_threads=False``), leaving the other cores to validation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest.sources.base import (
    Source,
    SourceOptions,
    common_name,
    expand_paths,
    files_fingerprint,
    filter_since,
    since_value,
)
from dativo_ingest.ingest.sources.prefetch import prefetch


class ParquetOptions(SourceOptions):
    path: str | list[str]


class ParquetSource(Source):
    """Streams Parquet files as record batches."""

    type_name = "parquet"
    Options = ParquetOptions
    options: ParquetOptions

    def _paths(self) -> list[Path]:
        if not hasattr(self, "_resolved"):
            self._resolved = expand_paths(self.options.path, self.context.base_dir, (".parquet", ".pq"))
        return self._resolved

    def fingerprint(self) -> str:
        return files_fingerprint(self._paths())

    def dataset(self) -> tuple[str, str]:
        return "file", common_name(self._paths(), self.options.path)

    def batches(self) -> Iterator[pa.RecordBatch]:
        return prefetch(self._batches())

    def _batches(self) -> Iterator[pa.RecordBatch]:
        since = since_value(self.context.incremental)
        for path in self._paths():
            self.stats.files.append(str(path))
            self.stats.bytes_read += path.stat().st_size
            try:
                handle = pq.ParquetFile(path)
                present = [c for c in self.context.columns if c in handle.schema_arrow.names]
                missing = [c for c in self.context.columns if c not in present]
                if missing:
                    self.stats.warnings.append(
                        f"{path.name}: no column {', '.join(missing)} (read as missing)"
                    )
                for batch in handle.iter_batches(
                    batch_size=self.context.batch_size, columns=present, use_threads=False
                ):
                    if batch.num_rows:
                        yield filter_since(batch, self.context.incremental, since)
            except (pa.ArrowInvalid, OSError) as exc:
                raise SourceError(f"cannot read Parquet: {exc}", path=str(path)) from exc
