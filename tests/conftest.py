"""Shared fixtures: an isolated workspace per test, paths to fixtures and to the shared reference."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API: moto's standalone server on 127.0.0.1 (a free port), for the session; yields its
    URL. Any access key works; tests make their own bucket. Skipped when ``moto[server]`` is missing."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        pytest.skip("moto[server] is not installed (pip install 'dativo-ingest[dev]')")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on the test output
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium (``/usr/bin/chromium``) driven by Playwright; skipped without one.

    Playwright's own browser downloads are never used: ``.ci/run`` installs Debian's chromium."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); the browser tests need it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    """A local Ray cluster of 2 CPUs inside the test process for the test module (``engine: {type: ray}``
    jobs run on it; stopped after the module, so its processes do not idle through the rest of the
    session); yields the ``ray`` module. Skipped when Ray is not installed."""
    try:
        import ray
    except ImportError:
        pytest.skip("ray is not installed (pip install 'dativo-ingest[ray]')")
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=256 * 1024 * 1024,
        logging_level=logging.ERROR,
        log_to_driver=False,
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@dataclass
class RayNodes:
    """A Ray cluster of separate node processes on 127.0.0.1 (see :func:`ray_two_nodes`)."""

    address: str  # host:port of the head's GCS
    processes: list[subprocess.Popen]
    env: dict[str, str]  # the environment clients of this cluster need


@pytest.fixture(scope="module")
def ray_two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayNodes]:
    """Two Ray nodes on 127.0.0.1, one CPU each, for a test module: ``ray start --head``, then ``ray
    start --address`` of a second node; both stopped (with their worker processes) at the end."""
    tmp_path = tmp_path_factory.mktemp("ray-nodes")
    ray_cli = Path(sys.executable).parent / "ray"
    if not ray_cli.exists():
        pytest.skip("ray is not installed (pip install 'dativo-ingest[ray]')")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus", "1", "--block", "--disable-usage-stats"]
    # token authentication off: the cluster is on 127.0.0.1 only, and clients given an explicit address
    # find no token otherwise (Ray 2.60)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    nodes = RayNodes(address, [], env)
    head = [str(ray_cli), "start", "--head", "--port", str(port), "--include-dashboard", "false"]
    try:
        nodes.processes.append(_start_node([*head, *common], env, tmp_path, 0))
        _wait_for_nodes(address, 1, env)
        worker = [str(ray_cli), "start", "--address", address]
        nodes.processes.append(_start_node([*worker, *common], env, tmp_path, 1))
        _wait_for_nodes(address, 2, env)
        yield nodes
    finally:
        for process in reversed(nodes.processes):
            process.send_signal(signal.SIGTERM)
        for process in reversed(nodes.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _start_node(command: list[str], env: dict[str, str], logs: Path, index: int) -> subprocess.Popen:
    log_file = (logs / f"ray-node-{index}.log").open("w")
    return subprocess.Popen(
        command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait_for_nodes(address: str, count: int, env: dict[str, str], timeout: float = 60.0) -> None:
    """Wait until the cluster at ``address`` has ``count`` live nodes."""
    probe = (
        "import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR', log_to_driver=False); "
        "print(sum(1 for n in ray.nodes() if n['Alive']))"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(
            [sys.executable, "-c", probe, address], env=env, capture_output=True, text=True, timeout=60
        )
        if done.returncode == 0 and done.stdout.strip() and int(done.stdout.split()[-1]) >= count:
            return
        time.sleep(1)
    raise RuntimeError(f"the Ray cluster at {address} did not reach {count} nodes in {timeout:.0f} s")
