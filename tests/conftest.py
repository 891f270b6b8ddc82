"""Shared fixtures: an isolated workspace per test, paths to fixtures and to the shared reference."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.receivers import Mailbox, Receiver, smtp_receiver, webhook_receiver

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = Path(os.environ.get("DATIVO_SHARED_DIR", ROOT.parent / "shared"))
REFERENCE = SHARED / "reference"
STRIPE_CONTRACT = FIXTURES / "stripe_customers.yaml"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace (DATIVO_HOME) with its own SQLite store; the cwd is moved there too."""
    home = tmp_path / "ws"
    home.mkdir()
    monkeypatch.setenv("DATIVO_HOME", str(home))
    monkeypatch.delenv("DATIVO_DATABASE_URL", raising=False)
    monkeypatch.chdir(home)
    return home


def _server_url(env: str, example: str) -> str:
    url = os.environ.get(env)
    if not url:
        pytest.skip(f"{env} is not set (e.g. {example}); this test needs the real server")
    return url


@pytest.fixture
def postgres_url() -> str:
    """The test PostgreSQL server (``DATIVO_TEST_POSTGRES_URL``); the test is skipped without one."""
    return _server_url("DATIVO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def mysql_url() -> str:
    """The test MariaDB/MySQL server (``DATIVO_TEST_MYSQL_URL``); the test is skipped without one."""
    return _server_url("DATIVO_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


@pytest.fixture
def stripe_contract_path() -> Path:
    return STRIPE_CONTRACT


def reference_dir(*parts: str) -> Path:
    """A folder of the shared reference material; the test is skipped when it is not beside the repo."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared reference not found at {path} (set DATIVO_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def focus_validator() -> Path:
    """The FinOps Foundation's ``focus-validator`` executable, in its own venv (Python >= 3.12).

    Given by ``DATIVO_TEST_FOCUS_VALIDATOR`` (``.ci/run`` sets it when ``python3.12`` is present);
    the test is skipped without it.
    """
    value = os.environ.get("DATIVO_TEST_FOCUS_VALIDATOR")
    if not value:
        pytest.skip(
            "DATIVO_TEST_FOCUS_VALIDATOR not set (path to a focus-validator executable; .ci/run sets it)"
        )
    executable = Path(value)
    if not (executable.is_file() and os.access(executable, os.X_OK)):
        pytest.skip(f"DATIVO_TEST_FOCUS_VALIDATOR={value} is not an executable file")
    if not (executable.parent / "python").exists():
        pytest.skip(f"DATIVO_TEST_FOCUS_VALIDATOR={value} is not in a venv (no python beside it)")
    return executable


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP webhook receiver on 127.0.0.1 (see :class:`tests.receivers.Receiver`)."""
    with webhook_receiver() as state:
        yield state


@pytest.fixture
def smtp_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; skipped when aiosmtpd is not installed. Plain text by
    default; parametrize indirectly with ``"starttls"`` or ``"ssl"`` for TLS (``Mailbox.ca_file``)."""
    with smtp_receiver(getattr(request, "param", "none"), tmp_path) as box:
        yield box
