"""Physical line numbers of a CSV file's data records, for the few rows a run rejects.

Arrow's streaming CSV reader does not know line numbers, so rows are numbered by their record ordinal
in the file (the N-th well-formed data record). Two ways turn an ordinal into the line its record
starts on:

- while Arrow reads, :class:`CountedInput` counts the line breaks of each block it hands over, and
  :class:`OneLineProof` compares them with the records Arrow made of those blocks: while every record
  so far is exactly one line (as many breaks as records), record ``N`` is on line ``N`` plus the
  header's, and nothing is read again;
- past a record that is not (a quoted line break, a blank line, a rejected row), :class:`RecordLines`
  makes one vectorised pass (NumPy over the raw bytes, in chunks) from where the previous lookup
  stopped, so a file is read again at most once, up to its last rejected row (a little ahead, on a
  background thread), and files without rejected rows never.

The pass follows Arrow's parsing: a newline inside quotes continues the record, empty lines are
skipped, the header (when the file has one) is not a data record, and a record whose field count is
not the header's is malformed (Arrow skips it; the run quarantines it separately), so it has no
ordinal. When the file does something the pass cannot follow exactly (a quote inside an unquoted
field, a lone carriage return as a line end, a text encoding that is not ASCII-compatible, fewer
records than asked for), it gives up and the caller reports ``record N`` instead of a wrong line.
"""

from __future__ import annotations

import codecs
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from dativo_ingest.ingest.sources.prefetch import prefetch

CHUNK_BYTES = 8 << 20
_LF, _CR = 10, 13


class CountedInput:
    """A binary stream for Arrow's CSV reader (through ``pyarrow.PythonFile``) that counts, per read,
    the line breaks and quote characters handed over so far (NumPy: about 0.1 s a GB each), and whether
    a non-blank record surely ends in the read (:attr:`record_ends`). ``limit``: read at most this many
    bytes; ``header``: the stream starts with a header line."""

    def __init__(self, raw: Any, *, quote: str, limit: int | None = None, header: bool = False) -> None:
        self.raw = raw
        self.limit = limit
        self.quote = ord(quote)
        self.header = header
        self.breaks: list[int] = []  # line breaks in the reads up to and including each read
        self.asked: list[int] = []  # bytes each read asked for (Arrow's block size)
        # per read: its last line break is outside quotes (by quote parity), ends a non-blank line and,
        # in the first read, is not the header's: a record Arrow returns in this read's batch ends there
        self.record_ends: list[bool] = []
        self.lines = 0
        self.quotes = 0
        self.lone_return: int | None = None  # the first read with a \r not before a \n (ends a record)
        self.ends_with_break = True  # the bytes handed over so far end with a line break
        self.eof = False
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        asked = size
        if self.limit is not None:
            size = self.limit if size < 0 else min(size, self.limit)
        data = self.raw.read(size) if size != 0 else b""
        if not data:
            self.eof = True
            return b""
        if self.limit is not None:
            self.limit -= len(data)
        array = np.frombuffer(data, dtype=np.uint8)
        last = data.rfind(b"\n")
        quotes = array == self.quote
        head = int(np.count_nonzero(quotes[: max(last, 0)]))  # quotes before the last line break
        self.record_ends.append(self._record_ends(data, quotes, last, head))
        self.lines += int(np.count_nonzero(array == _LF))
        self.quotes += head + int(np.count_nonzero(quotes[max(last, 0) :]))
        if self.lone_return is None and data.find(b"\r") >= 0 and _lone_return(array):
            self.lone_return = len(self.breaks)
        self.ends_with_break = data[-1] == _LF
        self.breaks.append(self.lines)
        self.asked.append(asked)
        return data

    def _record_ends(self, data: bytes, quotes: np.ndarray, last: int, head: int) -> bool:
        if (
            last < 1
            or data[last - 1] == _LF
            or (data[last - 1] == _CR and (last < 2 or data[last - 2] == _LF))
        ):
            return False  # no line break, or the last one ends a blank line (or one begun before)
        if (self.quotes + head) % 2:
            return False  # inside a quoted value
        if not self.breaks and self.header:  # the first read: its last break must not be the header's
            first = data.find(b"\n")
            if first == last or int(np.count_nonzero(quotes[:first])) % 2:
                return False
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.raw.close()


class OneLineProof:
    """How many of a file's first records are proven to be one line each, as Arrow reads them.

    Arrow's streaming reader turns each block it reads into one batch of the records that end in it
    (a record may not straddle more than one block boundary); a block in which no record ends is folded
    into a later batch, so the proof goes on only over reads in which a record surely ends
    (:attr:`CountedInput.record_ends`). Each record through batch ``k`` then ends with a line break
    inside the first ``k + 1`` reads, so those reads hold at least as many breaks
    as records (plus the header's); exactly as many only when every one of those records, the header
    included, is a single line and no blank line lies between them. Then data record ``N`` starts on
    line ``N + header``. A rejected row (its width is not the header's) or a lone carriage return stops the
    proof; the records proven stay proven."""

    def __init__(self, counted: CountedInput, *, block_size: int, reliable: bool) -> None:
        """``block_size``: Arrow's (every read but the last asks for it, or nothing is proven);
        ``reliable``: Arrow's blocks are the bytes read (UTF-8, :func:`read_untranscoded`)."""
        self.counted = counted
        self.block_size = block_size
        self.header = int(counted.header)  # the stream starts with a header line
        self.proven = 0  # data records 1..proven are one line each
        self._records = 0
        self._batches = 0
        self._open = reliable  # still proving

    def follow(self, reader: Iterable[pa.RecordBatch], rejected: list) -> Iterator[pa.RecordBatch]:
        """``reader``'s batches, proving as they pass (``rejected``: the rows Arrow skipped so far)."""
        for batch in reader:
            self._follow(batch.num_rows, bool(rejected))
            yield batch

    def _follow(self, rows: int, rejected: bool) -> None:
        counted, k = self.counted, self._batches
        self._batches += 1
        self._records += rows
        if not self._open:
            return
        last = counted.eof and k == len(counted.breaks) - 1
        if (
            rejected
            or (counted.lone_return is not None and counted.lone_return <= k)
            or k >= len(counted.breaks)
            or not counted.record_ends[k]  # else Arrow may fold this read into a later batch
            or (counted.asked[k] != self.block_size and not last)
        ):
            self._open = False
            return
        breaks = counted.breaks[k] + (1 if last and not counted.ends_with_break else 0)
        if self._records + self.header == breaks:
            self.proven = self._records
        else:
            self._open = False


class RecordLines:
    """Maps 1-based record ordinals of one CSV file to 1-based physical lines (see the module doc)."""

    def __init__(
        self,
        path: Path | str,
        *,
        delimiter: str,
        quote: str,
        encoding: str,
        header: bool,
        columns: int,
        start: int = 0,
    ) -> None:
        """``start``: the byte (a line start) the records are counted from; lines count from there."""
        self.path = str(path)
        self.start = start
        self.header = header
        self.columns = columns
        self.reliable = _ascii_compatible(encoding, delimiter, quote)
        self.delimiter = ord(delimiter) if self.reliable else 0
        self.quote = ord(quote) if self.reliable else 0
        self._stream: pa.NativeFile | None = None
        self._chunks: Generator[np.ndarray, None, None] | None = None  # scanned ahead on a background thread
        self._counting = False  # count fields (to skip malformed records)
        self._reset()

    def _reset(self) -> None:
        self.close()
        self._done = 0  # ordinals in the chunks handed to lines() so far
        self._rest = b""  # bytes read but not yet scanned (always start right after a newline)
        self._lines = 0  # newlines before the start of _rest
        self._parity = 0  # quote parity at the start of _rest (1: inside a quoted field)
        self._open: tuple[int, int] | None = None  # record spanning into _rest: (start line, delimiters)
        self._header_pending = self.header
        self._ordinal = 0  # well-formed data records scanned so far
        self._last = np.empty(0, dtype=np.int64)  # start lines of the last chunk's records
        self._first = True
        self._eof = False

    def close(self) -> None:
        """Stop the scan (its thread and its file)."""
        if self._chunks is not None:
            self._chunks.close()
            self._chunks = None
        self._close_stream()

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def lines(self, ordinals: np.ndarray, malformed: bool = True) -> np.ndarray | None:
        """The physical lines of the records ``ordinals`` (1-based, ascending), or None when unknowable.

        ``malformed=False`` tells that the reader has rejected no row of the file up to the last of
        ``ordinals`` (Arrow parses in order, so it knows): every non-empty record is then a data record
        and fields need not be counted. Once it has, the scan counts fields (starting again once)."""
        if not self.reliable:
            return None
        ordinals = np.asarray(ordinals, dtype=np.int64)
        if not len(ordinals):
            return np.empty(0, dtype=np.int64)
        if malformed and not self._counting:
            self._counting = True
            self._reset()
        elif ordinals[0] <= self._done - len(self._last):  # before the last chunk scanned: again
            self._reset()
        found = np.zeros(len(ordinals), dtype=np.int64)
        done = 0
        try:
            good: np.ndarray = self._last
            while True:
                first = self._done - len(good)  # ordinal before the first of ``good``
                upto = int(np.searchsorted(ordinals, self._done, side="right"))
                if upto > done:
                    found[done:upto] = good[ordinals[done:upto] - first - 1]
                    done = upto
                if done == len(ordinals):
                    break
                if self._chunks is None:
                    self._chunks = prefetch(self._scanned(), depth=2)
                following = next(self._chunks, None)
                if following is None:  # end of file before the record: the pass disagrees with Arrow
                    self.reliable = False
                    self.close()
                    return None
                good = self._last = following
                self._done += len(good)
        except _Unreliable:
            self.reliable = False
            self.close()
            return None
        return found

    def _scanned(self) -> Iterator[np.ndarray]:
        """Each chunk's data records, scanned ahead (NumPy releases the GIL: it overlaps the run)."""
        while True:
            good = self._next_records()
            if good is None:
                return
            yield good

    def _next_records(self) -> np.ndarray | None:
        """Scan the next chunk; the start lines of the well-formed data records completed in it."""
        if self._eof:
            return None
        if self._stream is None:
            self._stream = pa.input_stream(self.path, compression="detect")
            if self.start:
                self._stream.seek(self.start)
                self._first = False  # no byte-order mark inside the file
        while True:
            data = self._stream.read(CHUNK_BYTES)
            if self._first:
                self._first = False
                if data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]
            if not data:
                self._eof = True
                self._close_stream()
                buf, self._rest = self._rest, b""
                if buf and not buf.endswith(b"\n"):
                    buf += b"\n"
                return self._scan(buf, 0, len(buf), final=True)
            last = data.rfind(b"\n")
            if last < 0:
                self._rest += data
                continue
            # the carried partial record and this chunk's first line, then the rest of the chunk in
            # place (no copy of the chunk): both end with a newline, as _scan wants
            first = data.find(b"\n")
            head = self._rest + data[: first + 1]
            self._rest = data[last + 1 :]
            good = self._scan(head, 0, len(head), final=False)
            if last > first:
                good = np.concatenate((good, self._scan(data, first + 1, last + 1, final=False)))
            return good

    def _scan(self, chunk: bytes, start: int, end: int, *, final: bool) -> np.ndarray:
        """Records of ``chunk[start:end]`` (ends with a newline); updates the carried state."""
        a = np.frombuffer(chunk, dtype=np.uint8, count=end - start, offset=start)
        n = len(a)
        if not n:
            return self._finish_open(final)
        quotes = np.flatnonzero(a == self.quote)
        newlines = np.flatnonzero(a == _LF)
        if len(quotes):
            openers, closers = (quotes[1::2], quotes[0::2]) if self._parity else (quotes[0::2], quotes[1::2])
            # a quote opens a field only at its start, and closes it only at its end (or doubled);
            # a[-1] (for an opener at 0) is the chunk's final newline, as the byte before it was
            if not (self._bounds(a[openers - 1]) and self._bounds(a[closers + 1])):
                raise _Unreliable
            inside = ((self._parity + np.searchsorted(quotes, newlines)) & 1) == 1
            ends = newlines[~inside]
        else:
            ends = newlines if not self._parity else np.empty(0, dtype=np.int64)
        has_cr = chunk.find(b"\r", start, end) >= 0
        returns = np.flatnonzero(a == _CR) if has_cr else np.empty(0, dtype=np.intp)
        if len(returns):
            lone = returns[a[np.minimum(returns + 1, n - 1)] != _LF]
            if len(lone) and (
                not len(quotes) or (((self._parity + np.searchsorted(quotes, lone)) & 1) == 0).any()
            ):
                raise _Unreliable
        if self._counting:
            per_record = self._delimiters(a, quotes, ends)
        else:
            per_record = np.full(len(ends) + 1, self.columns - 1, dtype=np.int64)
        starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else np.empty(0, dtype=np.int64)
        start_lines = self._lines + np.searchsorted(newlines, starts) + 1
        counts = per_record[: len(ends)].copy()
        length = ends - starts
        empty = (length == 0) | ((length == 1) & (a[np.minimum(starts, n - 1)] == _CR))
        if self._open is not None and len(ends):
            start_lines[0] = self._open[0]
            counts[0] += self._open[1]
            empty[0] = False
        # the record still open at the end of the chunk (a newline inside quotes)
        tail = len(ends) == 0 or ends[-1] != n - 1
        open_before = self._open
        if tail:
            if len(ends):
                tail_start = int(ends[-1]) + 1
                line = self._lines + int(np.searchsorted(newlines, tail_start)) + 1
                self._open = (line, int(per_record[len(ends)]))
            elif open_before is not None:
                self._open = (open_before[0], open_before[1] + int(per_record[0]))
            else:
                self._open = (self._lines + 1, int(per_record[0]))
        else:
            self._open = None
        self._lines += len(newlines)
        self._parity = (self._parity + len(quotes)) & 1
        keep = ~empty
        lines, fields = start_lines[keep], counts[keep] + 1
        if final and self._open is not None:  # an unterminated quote runs to the end of the file
            lines = np.append(lines, self._open[0])
            fields = np.append(fields, self._open[1] + 1)
            self._open = None
        return self._data_records(lines, fields)

    def _delimiters(self, a: np.ndarray, quotes: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Delimiters outside quotes in each record ending at ``ends``, then in the open tail.

        Counted by binary search of the few record ends (and quoted spans) among the sorted delimiter
        positions, not of every delimiter among the ends: the cost follows the number of records."""
        delims = np.flatnonzero(a == self.delimiter)
        if len(quotes) > len(delims):  # mostly quoted fields: parity of each delimiter
            delims = delims[((self._parity + np.searchsorted(quotes, delims)) & 1) == 0]
            quotes = quotes[:0]
        elif self._parity and not len(quotes):
            delims = delims[:0]
        bounds = np.concatenate(([0], np.searchsorted(delims, ends), [len(delims)]))
        counts = np.diff(bounds)
        if len(quotes):
            # quoted spans (opening quote, closing quote); the chunk may start or end inside one
            edges = np.concatenate(([-1], quotes)) if self._parity else quotes
            if len(edges) % 2:
                edges = np.append(edges, len(a))
            spans = edges.reshape(-1, 2)
            inside = np.searchsorted(delims, spans[:, 1]) - np.searchsorted(delims, spans[:, 0])
            record = np.searchsorted(ends, spans[:, 0])
            counts -= np.bincount(record, weights=inside, minlength=len(counts)).astype(counts.dtype)
        return counts

    def _bounds(self, around: np.ndarray) -> bool:
        """Every byte is one a quoted field may touch: delimiter, line end or another quote."""
        ok = (around == self.delimiter) | (around == _LF) | (around == _CR) | (around == self.quote)
        return bool(ok.all())

    def _finish_open(self, final: bool) -> np.ndarray:
        if final and self._open is not None:
            lines, fields = np.array([self._open[0]]), np.array([self._open[1] + 1])
            self._open = None
            return self._data_records(lines, fields)
        return np.empty(0, dtype=np.int64)

    def _data_records(self, lines: np.ndarray, fields: np.ndarray) -> np.ndarray:
        if self._header_pending and len(lines):
            self._header_pending = False
            lines, fields = lines[1:], fields[1:]
        good = lines[fields == self.columns]
        self._ordinal += len(good)
        return good


def _lone_return(data: np.ndarray) -> bool:
    """Whether ``data`` holds a carriage return that is not followed by a line feed (one at the very
    end counts: the next read may not start with its line feed)."""
    returns = int(np.count_nonzero(data == _CR))
    pairs = int(np.count_nonzero((data[:-1] == _CR) & (data[1:] == _LF)))
    return returns != pairs


class _Unreliable(Exception):
    """The file does something the pass cannot follow exactly."""


def read_untranscoded(encoding: str) -> bool:
    """Whether Arrow reads text in ``encoding`` as the bytes given (UTF-8): it transcodes any other
    encoding first, so its blocks are then not the reads a :class:`CountedInput` counted."""
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _ascii_compatible(encoding: str, *chars: str) -> bool:
    """Whether ``encoding`` writes line breaks and ``chars`` as their ASCII bytes (bytes can be counted)."""
    try:
        return all(c.encode(encoding) == c.encode("ascii") for c in ("\n", "\r", *chars))
    except (LookupError, UnicodeError):
        return False
