"""Source and object names become path segments, so they are checked before any path is built."""

from __future__ import annotations

import re

from dativo_ingest.errors import UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_name(value: object, what: str) -> str:
    """``value`` if it is a safe single path segment (``[A-Za-z0-9_.-]``, no ``..``), else UsageError."""
    text = value if isinstance(value, str) else ""
    if not text or not _NAME.match(text) or ".." in text:
        raise UsageError(
            f"invalid {what} {value!r}: allowed are letters, digits, '_', '-', '.' (no '/' or '..')",
            field=what,
        )
    return text
