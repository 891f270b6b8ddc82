"""File-set fingerprints by content, so touching a file (a new mtime, same bytes) is not new input.

A file's digest is a fast non-cryptographic 128-bit hash of its bytes (MurmurHash3 x64 through ``mmh3``,
which pyiceberg already needs; BLAKE2b without it). Hashing reads the file once more, so digests are
cached by path, size and mtime (``cache``: a JSON file in the workspace state): an unchanged file is
hashed once, and a touched one is hashed again but keeps its fingerprint when its bytes are the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dativo_ingest.fileio import atomic_write_text, locked

_CHUNK = 4 * 1024 * 1024


def files_fingerprint(paths: Iterable[Path], cache: Path | None = None) -> str:
    """Digest of each file's path, size and content hash."""
    known = _load(cache)
    digest = hashlib.sha256()
    changed = False
    for path in paths:
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        entry = known.get(str(path))
        if not (isinstance(entry, list) and entry[:2] == stamp):
            entry = [*stamp, content_hash(path)]
            known[str(path)] = entry
            changed = True
        digest.update(f"{path}\0{stat.st_size}\0{entry[2]}\n".encode())
    if changed and cache is not None:
        _save(cache, known)
    return digest.hexdigest()


def content_hash(path: Path) -> str:
    """A 128-bit hash of the file's bytes (hex)."""
    try:
        import mmh3

        hasher: Any = mmh3.mmh3_x64_128()
    except (ImportError, AttributeError):
        hasher = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.digest().hex()


def _load(cache: Path | None) -> dict[str, Any]:
    if cache is None or not cache.is_file():
        return {}
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a cache only: rebuilt when unreadable
    return data if isinstance(data, dict) else {}


def _save(cache: Path, entries: dict[str, Any]) -> None:
    with locked(cache):
        merged = {**_load(cache), **entries}
        atomic_write_text(cache, json.dumps(merged, sort_keys=True) + "\n")
