"""The append-only history of one contract: one JSON object per line, newest last.

Appends are flushed and fsynced under the registry lock. A line cut short by a crash is skipped when
reading (and the next append starts on a fresh line), so a crash never makes the registry unreadable.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dativo_ingest.changes.base import Change
from dativo_ingest.logging import get_logger

logger = get_logger(__name__)


@dataclass
class ContractVersion:
    """One saved version of a contract: who saved it, when, what changed and the content hash."""

    source_type: str
    object: str
    version: str
    change_type: str  # initial | breaking | non-breaking | metadata | none
    author: str | None = None
    timestamp: str | None = None
    hash: str | None = None
    changes: list[Change] = field(default_factory=list)
    forced: bool = False
    previous_version: str | None = None
    required_version: str | None = None
    path: Path | None = None  # the contract file under specs/
    unchanged: bool = False  # set when a save found identical content and wrote nothing

    @property
    def is_breaking(self) -> bool:
        return self.change_type == "breaking"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_type": self.source_type,
            "object": self.object,
            "version": self.version,
            "change_type": self.change_type,
            "author": self.author,
            "timestamp": self.timestamp,
            "hash": self.hash,
            "forced": self.forced,
            "previous_version": self.previous_version,
            "required_version": self.required_version,
            "path": str(self.path) if self.path else None,
            "changes": [c.to_dict() for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path | None = None) -> ContractVersion:
        return cls(
            source_type=data["source_type"],
            object=data["object"],
            version=data["version"],
            change_type=data.get("change_type", "unknown"),
            author=data.get("author"),
            timestamp=data.get("timestamp"),
            hash=data.get("hash"),
            changes=[Change.from_dict(c) for c in data.get("changes", [])],
            forced=bool(data.get("forced", False)),
            previous_version=data.get("previous_version"),
            required_version=data.get("required_version"),
            path=path,
        )


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every well-formed entry, oldest first; torn or corrupt lines are skipped with a warning."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            logger.warning(
                "skipping unreadable history line", extra={"fields": {"path": str(path), "line": number}}
            )
            continue
        if isinstance(entry, dict) and "version" in entry:
            entries.append(entry)
    return entries


def append_entry(path: Path, entry: dict[str, Any]) -> None:
    """Append one entry durably (call with the registry lock held)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, sort_keys=True, default=str, ensure_ascii=False) + "\n"
    with open(path, "a+b") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":  # the previous writer died mid-line
                line = "\n" + line
        handle.write(line.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
