"""Structured logging with secret redaction.

``setup_logging(level="INFO", redact_secrets=True, json=False)`` configures the ``dativo_ingest``
logger. With redaction on, values of secret-like keys (password, secret, token, api_key, ...),
passwords inside DSNs (``postgresql://user:***@host``) and bearer tokens never reach a handler.
"""

from __future__ import annotations

import json as _json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

SECRET_KEY_PATTERN = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|apikey|auth(orization)?|credential|private[_-]?key)",
    re.IGNORECASE,
)
REDACTED = "***"

_KEY_VALUE = re.compile(
    r"""(?P<key>["']?[\w.-]*(?:pass(?:word|wd)?|secret|token|api[_-]?key|apikey|credential|private[_-]?key)"""
    r"""[\w.-]*["']?\s*[:=]\s*)(?P<quote>["']?)(?P<value>[^\s"',}&]+)""",
    re.IGNORECASE,
)
_DSN_PASSWORD = re.compile(r"(?P<prefix>[a-zA-Z][\w+.-]*://[^:/@\s]+:)(?P<password>[^@\s]+)(?P<at>@)")
_BEARER = re.compile(r"(?P<prefix>\bbearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_KNOWN_TOKENS = re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]{6,}\b")

_extra_secrets: set[str] = set()


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
    return _KEY_VALUE.sub(lambda m: f"{m['key']}{m['quote']}{REDACTED}", text)


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
    """Rewrites each record's message and structured extras with secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
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
            entry["exc_info"] = self.formatException(record.exc_info)
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
) -> logging.Logger:
    """Configure the ``dativo_ingest`` logger; calling it again replaces the previous set-up."""
    logger = logging.getLogger("dativo_ingest")
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter() if json else KeyValueFormatter())
    if redact_secrets:
        handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.propagate = False
    return logger


def get_logger(name: str) -> logging.Logger:
    """A child of the ``dativo_ingest`` logger."""
    return logging.getLogger(name if name.startswith("dativo_ingest") else f"dativo_ingest.{name}")
