"""Parquet files (paths, folders, globs), streamed in batches; only contract columns are read.

The next batches are decoded on a background thread while the current one is validated
(:func:`~dativo_ingest.ingest.sources.prefetch.prefetch`, two batches ahead at most); that thread
decodes columns one after the other (``use_threads=False``), leaving the other cores to validation.
A rejected row is quarantined with its file and its 1-based row number in that file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest.sources.base import FileOptions, FileSource, Piece


class ParquetOptions(FileOptions):
    """Parquet takes only the common file options."""


class ParquetSource(FileSource):
    """Streams Parquet files as record batches."""

    type_name = "parquet"
    Options = ParquetOptions
    options: ParquetOptions
    suffixes = (".parquet", ".pq")
    prefetch_depth = 2

    def read_file(self, path: Path) -> Iterator[pa.RecordBatch]:
        try:
            handle = pq.ParquetFile(path)
            self.check_columns(handle.schema_arrow.names, path.name, str(path))
            present = [c for c in self.context.columns if c in handle.schema_arrow.names]
            groups = self.piece.row_groups if self.piece is not None else None
            for batch in handle.iter_batches(
                batch_size=self.context.batch_size, row_groups=groups, columns=present, use_threads=False
            ):
                if batch.num_rows:
                    yield batch
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceError(f"cannot read Parquet: {exc}", path=str(path)) from exc

    def split_size(self, path: Path) -> int:
        """The file's row groups, uncompressed (what :meth:`file_pieces` cuts by)."""
        metadata = self._metadata(path)
        return sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))

    def file_pieces(self, path: Path, split_bytes: int) -> list[Piece]:
        """Runs of whole row groups of about ``split_bytes`` (uncompressed) each: a run starts at the
        first group that starts past the next whole multiple of ``split_bytes``."""
        metadata = self._metadata(path)
        pieces: list[Piece] = []
        groups: list[int] = []
        offset, cut, first, row = 0, split_bytes, 1, 1
        for index in range(metadata.num_row_groups):
            group = metadata.row_group(index)
            if groups and offset >= cut:
                pieces.append(Piece(0, str(path), row_groups=tuple(groups), first_row=first))
                groups, first = [], row
                cut = (offset // split_bytes + 1) * split_bytes
            groups.append(index)
            offset += group.total_byte_size
            row += group.num_rows
        if groups or not pieces:
            pieces.append(Piece(0, str(path), row_groups=tuple(groups) or None, first_row=first))
        return pieces

    @staticmethod
    def _metadata(path: Path) -> pq.FileMetaData:
        try:
            return pq.ParquetFile(path).metadata
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceError(f"cannot read Parquet: {exc}", path=str(path)) from exc
