"""Structured logging with secret redaction.

``setup_logging(level="INFO", redact_secrets=True, json=False)`` configures the ``dativo_ingest``
logger (and routes other libraries' warnings through the same handler). With redaction on, values of
secret-like keys (password, secret, token, api_key, ...), passwords inside DSNs
(``postgresql://user:***@host``), bearer tokens and registered secrets are replaced in the whole
record, tracebacks included.
"""

from __future__ import annotations

import json as _json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

SECRET_KEY_PATTERN = re.compile(
    r"(pass(word|wd)?|pwd|secret|token|api[_-]?key|apikey|auth(orization)?|credential|private[_-]?key)",
    re.IGNORECASE,
)
REDACTED = "***"

_KEY_VALUE = re.compile(
    r"""(?P<key>["']?[\w.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|credential|private[_-]?key)"""
    r"""[\w.-]*["']?\s*[:=]\s*)(?:(?P<quote>["'])(?:\\.|(?!(?P=quote)).)*(?P=quote)|[^\s"',}&\\]+)""",
    re.IGNORECASE,
)
# user:password@host, the password possibly empty-user ("redis://:pw@h") or holding "@" (the last "@"
# before the host ends it).
_DSN_PASSWORD = re.compile(
    r"(?P<prefix>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<password>[^\s/]+)(?P<at>@)(?=[^@\s/]*(?:[/?#\s\"',]|$))"
)
_BEARER = re.compile(r"(?P<prefix>\bbearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_KNOWN_TOKENS = re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]{6,}\b")

_extra_secrets: set[str] = set()
_PLAIN = logging.Formatter()


def register_secret(value: str | None) -> None:
    """Redact this exact value wherever it appears later (e.g. a resolved ``${ENV_VAR}``)."""
    if value and len(value) >= 4:
        _extra_secrets.add(value)


def redact_text(text: str) -> str:
    """``text`` with every secret it visibly carries replaced by ``***``."""
    for secret in sorted(_extra_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _DSN_PASSWORD.sub(lambda m: f"{m['prefix']}{REDACTED}{m['at']}", text)
    text = _BEARER.sub(lambda m: f"{m['prefix']}{REDACTED}", text)
    text = _KNOWN_TOKENS.sub(REDACTED, text)
    return _KEY_VALUE.sub(lambda m: f"{m['key']}{m['quote'] or ''}{REDACTED}{m['quote'] or ''}", text)


def redact(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, strings) with secrets replaced by ``***``."""
    if isinstance(value, dict):
        return {
            k: (
                REDACTED
                if isinstance(k, str) and SECRET_KEY_PATTERN.search(k) and v is not None
                else redact(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, traceback and structured extras (by key) with secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = redact(fields)
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and ``extra={"fields": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc_info"] = record.exc_text or self.formatException(record.exc_info)
        return _json.dumps(entry, default=str, sort_keys=False)


class KeyValueFormatter(logging.Formatter):
    """Human lines: ``time level logger message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return line


def setup_logging(
    level: str | int = "INFO",
    redact_secrets: bool = True,
    json: bool = False,
    stream: Any = None,
    libraries: str | int | None = "WARNING",
) -> logging.Logger:
    """Configure the ``dativo_ingest`` logger; calling it again replaces the previous set-up.

    ``libraries`` is the level from which other libraries' records (root logger) go through the same
    handler, redacted too; ``None`` leaves the root logger alone.
    """
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(JSONFormatter() if json else KeyValueFormatter())
    if redact_secrets:
        handler.addFilter(RedactingFilter())
    logger = logging.getLogger("dativo_ingest")
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    _replace_handler(logger, handler)
    logger.propagate = False
    if libraries is not None:
        root = logging.getLogger()
        root.setLevel(libraries.upper() if isinstance(libraries, str) else libraries)
        _replace_handler(root, handler)
    return logger


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (it may be swapped later)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def remove_handlers(logger: logging.Logger | None = None) -> None:
    """Remove the handlers :func:`setup_logging` installed on ``logger`` (default: the root logger, where
    ``libraries`` puts one); other handlers stay."""
    target = logger if logger is not None else logging.getLogger()
    for old in [h for h in target.handlers if getattr(h, "_dativo", False)]:
        target.removeHandler(old)


def _replace_handler(logger: logging.Logger, handler: logging.Handler) -> None:
    """Swap the handler a previous :func:`setup_logging` installed (others' handlers stay)."""
    remove_handlers(logger)
    handler._dativo = True  # type: ignore[attr-defined]  # a marker attribute on a stdlib handler
    logger.addHandler(handler)


def get_logger(name: str) -> logging.Logger:
    """A child of the ``dativo_ingest`` logger."""
    return logging.getLogger(name if name.startswith("dativo_ingest") else f"dativo_ingest.{name}")
