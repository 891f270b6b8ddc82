"""Pydantic validation errors of a configuration file -> one clear :class:`ConfigError` line."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from dativo_ingest.errors import ConfigError
from dativo_ingest.yamlio import line_of


def config_error(
    exc: ValidationError,
    *,
    path: str | Path | None = None,
    text: str | None = None,
    what: str | None = None,
    hidden: tuple[str, ...] = (),
) -> ConfigError:
    """The first problem of ``exc`` (an unknown key first), naming its field and, given the YAML ``text``,
    its line; ``what`` prefixes the message ("invalid policy: ..."), ``hidden`` drops internal fields."""
    errors = exc.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    field = ".".join(str(p) for p in first["loc"] if p not in hidden) or None
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "is required"
    else:
        message = first["msg"].removeprefix("Value error, ")
    if what:
        message = f"invalid {what}: {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    line = None
    if text and field:
        line = line_of(text, field)
    return ConfigError(message, path=path, field=field, line=line)
