"""CSV files (paths, folders, globs; ``.gz``/``.bz2``/``.zst`` detected), read in streaming blocks by Arrow.

Every contract column is read as text and typed by validation, so one bad value fails one row, not the
file. **An empty field means "missing"**: it is read as null, whether quoted (``""``) or not, in every
column, so it fails ``required`` (as DuckDB reads it; pyarrow by itself would keep ``""`` in text
columns). Set ``null_values`` to change which spellings mean missing (e.g. ``["", "NULL", "N/A"]``).
Columns the contract does not declare are not read.

A quoted value may hold line breaks (``\\n``, ``\\r\\n``), also where a read block ends inside it (Arrow's
``newlines_in_values``: without it a block cut inside quotes fails the run "out of sync with chunker").

A row that cannot be split into the header's columns (an extra or a missing field, an unterminated
quote) is not read: it goes to the source's ``malformed`` rows with its file, line and reason, and the
run quarantines it (``warn``) or fails naming ``file:line`` (``strict``).

A row that breaks a contract rule is named by its file and the physical line its record starts on
(counting the header and blank lines): rows are numbered by record ordinal while streaming; while a
file's records are proven to be one line each as Arrow reads them (its line breaks counted on the
way), record N is on line N + 1, and only past a record that is not is the file scanned again to
turn ordinals into lines (:mod:`~dativo_ingest.ingest.sources.csvlines`); when that scan cannot be
exact, the row is named ``record N`` (the N-th well-formed data record of the file) instead.

Memory: Arrow's streaming reader reads up to ~36 blocks ahead of the consumer, so the block is small
(``block_size_mb``, 1 MB by default: at most ~36 MB of text in flight); blocks are regrouped into
batches of about ``batch_size`` rows for validation. Parsing runs on a background thread, two batches
ahead at most (:func:`~dativo_ingest.ingest.sources.prefetch.prefetch`), while the consumer validates.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from pydantic import Field

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest.sources.base import (
    FileOptions,
    FileSource,
    MalformedRow,
    Piece,
    RowPosition,
    SourceContext,
    SourceOptions,
)
from dativo_ingest.ingest.sources.csvlines import CountedInput, OneLineProof, RecordLines, read_untranscoded


class CsvOptions(FileOptions):
    delimiter: str = Field(",", min_length=1, max_length=1)
    quote_char: str = Field('"', min_length=1, max_length=1)
    header: bool = True
    column_names: list[str] | None = None
    encoding: str = "utf8"
    null_values: list[str] = Field(default_factory=lambda: [""])
    block_size_mb: int = Field(1, ge=1, le=1024)


class CsvSource(FileSource):
    """Streams CSV files as record batches of text columns."""

    type_name = "csv"
    Options = CsvOptions
    options: CsvOptions
    suffixes = (".csv", ".csv.gz", ".tsv")
    prefetch_depth = 1

    def __init__(self, options: SourceOptions, context: SourceContext) -> None:
        super().__init__(options, context)
        # Both filled by the reader (the prefetch thread) and read by the run: created here, before
        # that thread starts, never lazily on it.
        self._widths: dict[str, int] = {}  # columns of each file read (a well-formed record's width)
        self._rejected_in: dict[str, list] = {}  # rows Arrow rejected so far, by file, in order
        self._scanner: RecordLines | None = None
        self._proofs: dict[str, OneLineProof] = {}  # records proven one line each, by file
        self.span_facts: SpanFacts | None = None  # a byte range read (see file_pieces)

    def read_file(self, path: Path) -> Iterator[pa.RecordBatch]:
        opts = self.options
        wanted = list(self.context.columns)
        read_options = pacsv.ReadOptions(
            block_size=opts.block_size_mb * 1024 * 1024,
            encoding=opts.encoding,
            column_names=opts.column_names,
            autogenerate_column_names=not opts.header and not opts.column_names,
        )
        parse_options = pacsv.ParseOptions(
            delimiter=opts.delimiter, quote_char=opts.quote_char, newlines_in_values=True
        )
        span = self.piece if self.piece is not None and self.piece.end is not None else None
        if span is not None and span.header is not None:  # a range after the header: names given
            read_options.column_names = list(span.header)
            read_options.autogenerate_column_names = False
            present = list(span.header)
        else:
            present = self._header(path, read_options, parse_options)
        if not present:
            return
        self.check_columns(present, path.name, str(path))
        self._widths[str(path)] = len(present)
        convert_options = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in wanted},
            include_columns=wanted,
            include_missing_columns=True,
            null_values=opts.null_values,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        rejected: list[pacsv.InvalidRow] = []
        self._rejected_in[str(path)] = rejected
        parse_options = pacsv.ParseOptions(
            delimiter=opts.delimiter,
            quote_char=opts.quote_char,
            newlines_in_values=True,  # else a block ending inside a quoted line break loses sync
            invalid_row_handler=_collect(rejected),
        )
        counted = self._input(path, span)
        proof = self._proofs[str(path)] = OneLineProof(
            counted,
            block_size=read_options.block_size,
            reliable=read_untranscoded(opts.encoding),
        )
        try:
            reader = pacsv.open_csv(
                pa.PythonFile(counted, mode="r"),
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
            yield from _regroup(proof.follow(reader, rejected), self.context.batch_size)
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read CSV: {exc}", path=str(path)) from exc
        finally:
            counted.close()
        if span is not None:
            self.span_facts = SpanFacts(lines=counted.lines, quotes_odd=counted.quotes % 2 == 1)
        if rejected:
            start = span.start if span is not None else 0
            self.malformed.extend(_locate(path, rejected, opts.encoding, opts.quote_char, start))

    def file_pieces(self, path: Path, split_bytes: int) -> list[Piece]:
        """Byte ranges of about ``split_bytes``, each starting at a line start (the first one holds the
        header); compressed files stay whole. A range cut inside a quoted line break is found by the
        range's odd count of quote characters (:attr:`SpanFacts.quotes_odd`): the run then reads that
        file whole."""
        size = path.stat().st_size
        if size <= split_bytes or path.name.endswith((".gz", ".bz2", ".zst")):
            return [Piece(0, str(path))]
        names: tuple[str, ...] | None = None
        bounds = [0]
        with path.open("rb") as handle:
            for cut in range(split_bytes, size, split_bytes):  # at whole multiples: ranges do not drift
                if cut - bounds[-1] < split_bytes // 2:
                    continue  # a long line took the range (nearly) past this cut: no splinter after it
                handle.seek(cut)
                handle.readline()  # to the start of the next line
                if handle.tell() >= size:
                    break
                bounds.append(handle.tell())
        if len(bounds) == 1:
            return [Piece(0, str(path))]
        opts = self.options
        read_options = pacsv.ReadOptions(
            encoding=opts.encoding,
            column_names=opts.column_names,
            autogenerate_column_names=not opts.header and not opts.column_names,
        )
        parse_options = pacsv.ParseOptions(delimiter=opts.delimiter, quote_char=opts.quote_char)
        names = tuple(self._header(path, read_options, parse_options))
        ends = [*bounds[1:], size]
        return [
            Piece(0, str(path), start, end, None if start == 0 else names, last_in_file=end == size)
            for start, end in zip(bounds, ends, strict=True)
        ]

    def _input(self, path: Path, span: Piece | None) -> CountedInput:
        """What Arrow reads: the file (decompressed), or the bytes of the piece's range, counted as
        they pass (line breaks for :class:`OneLineProof`; a range's quotes for :attr:`span_facts`)."""
        if span is None or span.end is None:
            raw = pa.input_stream(str(path), compression="detect")
            return CountedInput(raw, quote=self.options.quote_char, header=self._header_line(span))
        handle = path.open("rb")
        handle.seek(span.start)
        return CountedInput(
            handle, quote=self.options.quote_char, limit=span.end - span.start, header=self._header_line(span)
        )

    def _header_line(self, span: Piece | None) -> bool:
        """Whether the stream read starts with a header line (not a data record)."""
        start = span.start if span is not None else 0
        return self.options.header and not self.options.column_names and start == 0

    def close(self) -> None:
        scanner = self._scanner
        if scanner is not None:
            scanner.close()
            self._scanner = None

    def _positions(self, path: str | None, numbers: list[int], pages: list[int | None]) -> list[RowPosition]:
        """Record ordinals -> physical lines (``record N`` when the line cannot be known exactly)."""
        proof = self._proofs.get(path) if path is not None else None
        if proof is not None:  # ascending: those proven one line each first, the scan for the rest
            proven = [RowPosition(path, n + proof.header, "line") for n in numbers if n <= proof.proven]
            if proven:
                return proven + self._scanned(path, numbers[len(proven) :])
        return self._scanned(path, numbers)

    def _scanned(self, path: str | None, numbers: list[int]) -> list[RowPosition]:
        """Positions found by the line scan (:class:`RecordLines`), ``record N`` where it cannot be exact."""
        if not numbers:
            return []
        lines = None
        if path is not None and path in self._widths:
            scanner = self._scanner
            if scanner is None or scanner.path != path:
                if scanner is not None:
                    scanner.close()
                opts = self.options
                start = self.piece.start if self.piece is not None else 0
                scanner = self._scanner = RecordLines(
                    path,
                    delimiter=opts.delimiter,
                    quote=opts.quote_char,
                    encoding=opts.encoding,
                    header=self._header_line(self.piece),
                    columns=self._widths[path],
                    start=start,
                )
            try:
                malformed = bool(self._rejected_in.get(path))
                lines = scanner.lines(np.asarray(numbers, dtype=np.int64), malformed)
            except (OSError, pa.ArrowInvalid):
                lines = None
        if lines is None:
            return [RowPosition(path, n, "record") for n in numbers]
        return [RowPosition(path, int(n), "line") for n in lines]

    @staticmethod
    def _header(path: Path, read_options: pacsv.ReadOptions, parse_options: pacsv.ParseOptions) -> list[str]:
        probe = pacsv.ReadOptions(
            block_size=1 << 20,
            encoding=read_options.encoding,
            column_names=read_options.column_names,
            autogenerate_column_names=read_options.autogenerate_column_names,
        )
        try:
            skip_bad = pacsv.ParseOptions(
                delimiter=parse_options.delimiter,
                quote_char=parse_options.quote_char,
                newlines_in_values=True,
                invalid_row_handler=lambda row: "skip",  # the real read reports them
            )
            return pacsv.open_csv(str(path), read_options=probe, parse_options=skip_bad).schema.names
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                return []
            raise SourceError(f"cannot read CSV: {exc}", path=str(path)) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read CSV: {exc}", path=str(path)) from exc


@dataclass(frozen=True)
class SpanFacts:
    """What reading a byte range found: its line breaks (lines before a range shift its line numbers)
    and whether it holds an odd number of quote characters (it was cut inside a quoted value)."""

    lines: int
    quotes_odd: bool


def _collect(rejected: list[pacsv.InvalidRow]):
    """An ``invalid_row_handler`` that keeps the row aside and skips it (called only for bad rows)."""

    def handler(row: pacsv.InvalidRow) -> str:
        rejected.append(row)
        return "skip"

    return handler


def _locate(
    path: Path, rows: list[pacsv.InvalidRow], encoding: str, quote: str, start: int = 0
) -> list[MalformedRow]:
    """The rejected rows with their 1-based line numbers (Arrow's streaming reader does not know them):
    one pass over the file's lines, matching each row's first line in order, only at lines that start a
    record (not inside a quoted value spanning lines); when a stray quote defeats that, a second pass
    matches at every line. Runs only when rows were rejected, so well-formed files are never read twice."""
    numbers = _first_lines(path, rows, encoding, quote, start)
    if None in numbers:
        numbers = _first_lines(path, rows, encoding, None, start)
    return [
        MalformedRow(str(path), n, row.text, _reason(row, quote))
        for n, row in zip(numbers, rows, strict=True)
    ]


def _first_lines(
    path: Path, rows: list[pacsv.InvalidRow], encoding: str, quote: str | None, start: int = 0
) -> list[int | None]:
    """The line each of ``rows`` starts on, in order (None: not found); ``quote`` None: ignore quotes.
    ``start``: the byte the rows' range begins at (lines are counted from there)."""
    found: list[int | None] = []
    inside = False  # the line starts inside a quoted value (a record spanning lines)
    with pa.input_stream(str(path), compression="detect") as raw:
        if start:
            raw.seek(start)
        lines = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        for number, line in enumerate(lines, start=1):
            if len(found) == len(rows):
                break
            if not inside and line.rstrip("\r\n") == rows[len(found)].text.split("\n", 1)[0].rstrip("\r"):
                found.append(number)
            if quote is not None and line.count(quote) % 2:
                inside = not inside
    return found + [None] * (len(rows) - len(found))


def _reason(row: pacsv.InvalidRow, quote: str) -> str:
    reason = f"expected {row.expected_columns} columns, got {row.actual_columns}"
    return reason + " (unterminated quote)" if row.text.count(quote) % 2 else reason


def _regroup(reader: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """The reader's blocks as batches of about ``rows`` rows (one copy, so the small blocks are freed)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        if not batch.num_rows:
            continue
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield from _combine(pending)
            pending, count = [], 0
    if pending:
        yield from _combine(pending)


def _combine(batches: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
    if len(batches) == 1:
        return batches
    return pa.Table.from_batches(batches).combine_chunks().to_batches()
