"""setup_logging: structured output and secret redaction."""

from __future__ import annotations

import io
import json
import logging

import pytest

from dativo_ingest.logging import (
    get_logger,
    redact,
    redact_text,
    register_secret,
    remove_handlers,
    setup_logging,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://app:s3cr3t@db:5432/x", "postgresql://app:***@db:5432/x"),
        ("mysql+pymysql://root:pw@127.0.0.1/test", "mysql+pymysql://root:***@127.0.0.1/test"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
        ("password=hunter2 user=bob", "password=*** user=bob"),
        ('{"api_key": "k-123", "n": 1}', '{"api_key": "***", "n": 1}'),
        ("stripe key sk_live_abcdef123456", "stripe key ***"),
        ("redis://:onlypw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgresql://bob:p@ss@db/x", "postgresql://bob:***@db/x"),
        ("password: 'has space inside' next", "password: '***' next"),
        ('{"pwd": "p1"}', '{"pwd": "***"}'),
        ("see https://user@host/path, mail a@b.c", "see https://user@host/path, mail a@b.c"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redact_text(raw: str, expected: str) -> None:
    assert redact_text(raw) == expected


def test_redact_structures() -> None:
    assert redact(
        {"user": "bob", "password": "x", "nested": [{"client_secret": "y", "url": "https://a:b@h"}]}
    ) == {
        "user": "bob",
        "password": "***",
        "nested": [{"client_secret": "***", "url": "https://a:***@h"}],
    }


def test_registered_secrets_are_redacted_anywhere() -> None:
    register_secret("tok-9f8e7d6c")
    assert redact_text("calling with tok-9f8e7d6c now") == "calling with *** now"


def test_json_logs_redact_messages_and_fields() -> None:
    stream = io.StringIO()
    setup_logging(level="DEBUG", json=True, stream=stream)
    get_logger("test").info("connect postgresql://u:pw@h/db", extra={"fields": {"token": "abc", "rows": 3}})
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "connect postgresql://u:***@h/db"
    assert entry["token"] == "***" and entry["rows"] == 3
    assert entry["level"] == "INFO" and entry["logger"] == "dativo_ingest.test"


def test_redaction_can_be_turned_off_for_debugging() -> None:
    stream = io.StringIO()
    setup_logging(level="DEBUG", redact_secrets=False, stream=stream)
    get_logger("test").debug("password=visible")
    assert "password=visible" in stream.getvalue()
    setup_logging(level=logging.WARNING, stream=io.StringIO())
    assert get_logger("x").getEffectiveLevel() == logging.WARNING


def test_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    setup_logging(json=True, stream=stream)
    try:
        raise ValueError("connect failed: password=exc_pw")
    except ValueError:
        get_logger("test").exception("run failed")
    assert "exc_pw" not in stream.getvalue()
    assert "password=***" in json.loads(stream.getvalue())["exc_info"]


def test_other_libraries_warnings_go_through_the_redacting_handler() -> None:
    stream = io.StringIO()
    setup_logging(stream=stream)
    try:
        logging.getLogger("some.library").warning("retrying postgresql://u:libpw@h/db")
        logging.getLogger("some.library").info("chatty detail")
        assert "postgresql://u:***@h/db" in stream.getvalue()
        assert "libpw" not in stream.getvalue() and "chatty" not in stream.getvalue()
    finally:
        setup_logging(stream=io.StringIO(), libraries=None)
        remove_handlers()
