"""Accepted changes: a team's signed, dated acceptance of a known change (``.dativo/accepted-changes.yaml``).

::

    accepted:
      - contract: shop/orders            # SOURCE/OBJECT, the contract's id, or its file path
        change: email:field_removed      # a change id as the gate prints it, or a path (every change there)
        reason: the CRM dashboard reads email_hash since JIRA-123
        who: jane@example.com
        expires: 2026-12-31              # accepted through this day; from the next day the gate fails again

Every key is required and nothing else is allowed; a malformed file is one
:class:`~dativo_ingest.errors.AcceptedChangesError` naming the file and the line (exit code 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from dativo_ingest.changes.base import Change
from dativo_ingest.errors import AcceptedChangesError, YAMLLoadError
from dativo_ingest.yamlio import line_of, loads, read_text

#: The keys of an entry, all required.
FIELDS = ("contract", "change", "reason", "who", "expires")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def change_id(change: Change) -> str:
    """The stable id of a change: ``<path>:<kind>`` as the engine names both (``email:field_removed``)."""
    return f"{change.path}:{change.kind}"


@dataclass(frozen=True)
class Acceptance:
    """One entry of the accepted-changes file."""

    contract: str
    change: str
    reason: str
    who: str
    expires: date
    line: int | None = None

    def covers(self, change: Change) -> bool:
        """True when this entry names ``change`` by its id or by its path."""
        return self.change in (change_id(change), change.path)

    def names(self, keys: set[str]) -> bool:
        """True when this entry's ``contract`` is one of ``keys`` (name, id, file path)."""
        return self.contract in keys or _as_path(self.contract) in keys

    def expired(self, today: date) -> bool:
        """Accepted through ``expires``; expired from the day after."""
        return today > self.expires

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "change": self.change,
            "reason": self.reason,
            "who": self.who,
            "expires": self.expires.isoformat(),
            "line": self.line,
        }


def _as_path(value: str) -> str:
    try:
        return str(Path(value).resolve())
    except (OSError, ValueError):
        return value


def contract_keys(name: str, contract_id: str | None, path: str | Path) -> set[str]:
    """What an entry's ``contract`` may say to name this contract."""
    keys = {name, str(path), _as_path(str(path))}
    if contract_id:
        keys.add(contract_id)
    return keys


def parse_date(value: str, *, what: str) -> date:
    """An ISO date (``YYYY-MM-DD``), or a clear error naming ``what``."""
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} must be a date YYYY-MM-DD, got {value!r}") from None


def load_accepted(path: str | Path) -> list[Acceptance]:
    """The entries of an accepted-changes file (none when it does not exist)."""
    file = Path(path)
    if not file.exists():
        return []
    try:
        text = read_text(file)
        data = loads(text, source=file)
    except YAMLLoadError as exc:
        raise AcceptedChangesError(exc.message, path=file, line=exc.line) from None
    return parse_accepted(data, text, file)


def parse_accepted(data: Any, text: str, source: str | Path) -> list[Acceptance]:
    """Entries from a parsed document (``text`` gives the lines errors name)."""

    def fail(message: str, where: str | None) -> AcceptedChangesError:
        line = line_of(text, where) if where else None
        return AcceptedChangesError(message, path=source, line=line)

    if data is None:
        return []
    if not isinstance(data, dict):
        raise fail(f"top level must be a mapping with an 'accepted' list, got {type(data).__name__}", None)
    unknown = sorted(str(k) for k in data if k != "accepted")
    if unknown:
        raise fail(f"unknown key '{unknown[0]}' (the file holds one list: accepted)", unknown[0])
    entries = data.get("accepted")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise fail(f"'accepted' must be a list of entries, got {type(entries).__name__}", "accepted")
    found = []
    for index, entry in enumerate(entries):
        where = f"accepted[{index}]"
        if not isinstance(entry, dict):
            raise fail(f"{where} must be a mapping with {', '.join(FIELDS)}", where)
        extra = [str(k) for k in entry if k not in FIELDS]
        if extra:
            raise fail(
                f"{where}: unknown field '{extra[0]}' (expected {', '.join(FIELDS)})", f"{where}.{extra[0]}"
            )
        missing = [k for k in FIELDS if k not in entry]
        if missing:
            raise fail(f"{where}: missing field '{missing[0]}'", where)
        values: dict[str, str] = {}
        for key in FIELDS:
            value = entry[key]
            if not isinstance(value, str) or not value.strip():
                shown = "empty" if value in (None, "") else type(value).__name__
                raise fail(f"{where}.{key} must be a non-empty text, got {shown}", f"{where}.{key}")
            values[key] = value.strip()
        try:
            expires = parse_date(values["expires"], what=f"{where}.expires")
        except ValueError as exc:
            raise fail(str(exc), f"{where}.expires") from None
        found.append(
            Acceptance(
                values["contract"],
                values["change"],
                values["reason"],
                values["who"],
                expires,
                line_of(text, where),
            )
        )
    return found
