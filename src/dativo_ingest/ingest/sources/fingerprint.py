"""File-set fingerprints, so a re-run of the same files is recognised and touching a file (a new mtime,
same bytes) is not new input, without reading a new file twice.

Each file contributes a *token* to the fingerprint, remembered in ``cache`` (a JSON file in the
workspace state) with the file's size, mtime and content hash:

- a file whose size and mtime match its cache entry keeps the entry's token (nothing read);
- a small file (up to :data:`SAMPLE_LIMIT`), or one whose size or mtime changed since its entry, is
  hashed whole (a fast non-cryptographic 128-bit hash, MurmurHash3 x64 through ``mmh3``, which
  pyiceberg already needs; BLAKE2b without it): the same bytes keep the entry's token, other bytes
  get their content hash as token;
- a large file never seen before gets a token from its size, mtime and a bounded sample of its bytes
  (:data:`SAMPLE_BLOCKS` blocks of :data:`SAMPLE_BYTES`, head and tail included); its content hash is
  computed while the run reads it (:meth:`FileFingerprints.reading`, on a background thread) and
  stored, so a later touch is recognised by content.

Before the source's stream ends (and so before anything is committed) every file read is checked
against its fingerprint: a size or mtime that changed while it was read, or bytes that no longer
hash to the remembered content, fail the run.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dativo_ingest.errors import SourceError
from dativo_ingest.fileio import atomic_write_text, locked

_CHUNK = 1024 * 1024
_CHANGED = "the file changed while it was read; nothing committed (run again)"
SAMPLE_LIMIT = 16 * 1024 * 1024  # files up to this size are hashed whole up front
SAMPLE_BLOCKS = 64
SAMPLE_BYTES = 64 * 1024


@dataclass
class _Entry:
    size: int
    mtime_ns: int
    token: str
    content: str | None  # hash of the whole file; None until a read computed it

    def stamp(self) -> list[int]:
        return [self.size, self.mtime_ns]


class FileFingerprints:
    """The fingerprint of a set of files (:meth:`digest`), and its check while they are read."""

    def __init__(self, paths: Iterable[Path], cache: Path | None = None) -> None:
        self.cache = cache
        known = _load(cache)
        self.entries: dict[str, _Entry] = {}
        self._changed = False
        for path in paths:
            self.entries[str(path)] = self._entry(path, _entry(known.get(str(path))))

    def _entry(self, path: Path, cached: _Entry | None) -> _Entry:
        stat = path.stat()
        size, mtime = stat.st_size, stat.st_mtime_ns
        if cached is not None and cached.stamp() == [size, mtime]:
            return cached
        self._changed = True
        if cached is not None or size <= SAMPLE_LIMIT:
            content = content_hash(path)
            if cached is not None and cached.content == content:
                return _Entry(size, mtime, cached.token, content)
            return _Entry(size, mtime, content, content)
        return _Entry(size, mtime, f"sample:{mtime}:{sample_hash(path, size)}", None)

    def digest(self) -> str:
        """Digest of each file's path, size and token (saves the cache when an entry changed)."""
        digest = hashlib.sha256()
        for path, entry in self.entries.items():
            digest.update(f"{path}\0{entry.size}\0{entry.token}\n".encode())
        self._save()
        return digest.hexdigest()

    @contextmanager
    def reading(self, path: Path) -> Iterator[None]:
        """Around one file's read: hash it alongside when its content hash is not known yet, then check
        that it is still the file fingerprinted (raises :class:`SourceError` when it changed)."""
        entry = self.entries.get(str(path))
        if entry is None:
            yield
            return
        hasher: _BackgroundHash | None = None
        if entry.content is None:
            hasher = _BackgroundHash(path)
        try:
            yield
        finally:
            content = hasher.result() if hasher is not None else None
        self._check(path, entry, sampled=content is not None)
        if content is not None:
            entry.content = content
            self._changed = True

    def verify(self, path: Path) -> None:
        """Check that ``path`` is still the file fingerprinted (size, mtime and, for a sampled
        fingerprint, the sample), without reading it whole; raises :class:`SourceError` when it changed."""
        entry = self.entries.get(str(path))
        if entry is not None:
            self._check(path, entry, sampled=True)

    @staticmethod
    def _check(path: Path, entry: _Entry, *, sampled: bool) -> None:
        stat = path.stat()
        changed = [stat.st_size, stat.st_mtime_ns] != entry.stamp()
        if not changed and sampled and entry.token.startswith("sample:"):
            changed = sample_hash(path, entry.size) != entry.token.rsplit(":", 1)[1]
        if changed:
            raise SourceError(_CHANGED, path=str(path))

    def save(self) -> None:
        """Store the entries in the cache when one changed (after the files were read)."""
        self._save()

    def _save(self) -> None:
        if not self._changed or self.cache is None:
            return
        entries = {
            path: {"size": e.size, "mtime_ns": e.mtime_ns, "token": e.token, "content": e.content}
            for path, e in self.entries.items()
        }
        with locked(self.cache):
            merged = {**_load(self.cache), **entries}
            atomic_write_text(self.cache, json.dumps(merged, sort_keys=True) + "\n")
        self._changed = False


def files_fingerprint(paths: Iterable[Path], cache: Path | None = None) -> str:
    """Digest of each file's path, size and token (see the module doc)."""
    return FileFingerprints(paths, cache).digest()


def _hasher() -> Any:
    try:
        import mmh3

        return mmh3.mmh3_x64_128()
    except (ImportError, AttributeError):
        return hashlib.blake2b(digest_size=16)


def content_hash(path: Path) -> str:
    """A 128-bit hash of the file's bytes (hex)."""
    hasher = _hasher()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.digest().hex()


def sample_hash(path: Path, size: int) -> str:
    """A 128-bit hash of :data:`SAMPLE_BLOCKS` evenly spaced blocks of the file (its first and last
    included), a few MB whatever the file's size."""
    hasher = _hasher()
    step = max(SAMPLE_BYTES, (size - SAMPLE_BYTES) // (SAMPLE_BLOCKS - 1))
    with open(path, "rb") as handle:
        for offset in sorted({min(i * step, max(0, size - SAMPLE_BYTES)) for i in range(SAMPLE_BLOCKS)}):
            handle.seek(offset)
            hasher.update(handle.read(SAMPLE_BYTES))
    return hasher.digest().hex()


class _BackgroundHash:
    """:func:`content_hash` of a file on a daemon thread (the file is in the page cache while it is
    being read, so this costs the hashing, not a second read from disk)."""

    def __init__(self, path: Path) -> None:
        self._value: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), name="dativo-hash", daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._value = content_hash(path)
        except BaseException as exc:
            self._error = exc

    def result(self) -> str | None:
        self._thread.join()
        return self._value if self._error is None else None


def _entry(raw: Any) -> _Entry | None:
    """A cache entry (also the older ``[size, mtime_ns, content hash]`` form, whose token is the hash)."""
    if isinstance(raw, list) and len(raw) == 3:
        return _Entry(int(raw[0]), int(raw[1]), str(raw[2]), str(raw[2]))
    if isinstance(raw, dict) and {"size", "mtime_ns", "token"} <= raw.keys():
        content = raw.get("content")
        return _Entry(int(raw["size"]), int(raw["mtime_ns"]), str(raw["token"]), content and str(content))
    return None


def _load(cache: Path | None) -> dict[str, Any]:
    if cache is None or not cache.is_file():
        return {}
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a cache only: rebuilt when unreadable
    return data if isinstance(data, dict) else {}
