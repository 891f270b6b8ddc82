"""Real receivers on 127.0.0.1 for notification tests: an HTTP webhook receiver (http.server) and an SMTP
server (aiosmtpd). The fixtures ``receiver`` and ``smtp_server`` in ``tests/conftest.py`` start them."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dativo_ingest.notifications import wait_for_pending


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver. ``plan``: what to answer to the next requests in turn (a status code, or
    ``"hang"``: never answer); once the plan is used up every request gets ``default``."""

    base: str = ""
    plan: list[int | str] = field(default_factory=list)
    default: int | str = 200
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/hook") -> str:
        return self.base + path

    def next_action(self) -> int | str:
        return self.plan.pop(0) if self.plan else self.default


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            action = receiver.next_action()
            if action == "hang":
                receiver.release.wait(30)  # never answers within any client timeout
                return
            self.send_response(int(action))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 recording every POST (see :class:`Receiver`)."""
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.base = f"http://127.0.0.1:{server.server_port}"
    try:
        yield state
    finally:
        state.release.set()
        wait_for_pending(10)
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """What the SMTP server received: one dict per message (``mail_from``, ``rcpt_tos``, ``content``)
    and the logins it accepted."""

    host: str = "127.0.0.1"
    port: int = 0
    security: str = "none"  # none | starttls | ssl
    ca_file: str | None = None  # the self-signed certificate to trust (TLS modes)
    messages: list[dict[str, Any]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (IP SAN) and its key, written to ``folder``."""
    x509 = pytest.importorskip("cryptography.x509", reason="cryptography not installed")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@contextmanager
def smtp_receiver(security: str = "none", folder: Path | None = None) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 accepting AUTH LOGIN/PLAIN as user ``dativo`` with
    password ``smtp-pass-5ecret`` (tests only). ``security``: ``none`` (plain text), ``starttls``
    (STARTTLS required) or ``ssl`` (implicit TLS), with a self-signed certificate written to ``folder``
    (``Mailbox.ca_file``)."""
    controller_mod = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd not installed (dev extra)")
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox(port=_free_port(), security=security)
    tls: dict[str, Any] = {"auth_require_tls": False}
    if security != "none":
        if folder is None:
            raise ValueError("a TLS SMTP receiver needs a folder for its certificate")
        cert_file, key_file = _self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        box.ca_file = str(cert_file)
        tls = (
            {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
            if security == "starttls"
            else {"ssl_context": context, "auth_require_tls": False}
        )

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "content": envelope.content.decode("utf-8", "replace"),
                }
            )
            return "250 Message accepted for delivery"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if (user, password) == ("dativo", "smtp-pass-5ecret"):
                box.logins.append((user, password))
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    controller = controller_mod.Controller(
        Handler(),
        hostname="127.0.0.1",
        port=box.port,
        authenticator=authenticator,
        auth_required=False,
        **tls,
    )
    controller.start()
    try:
        yield box
    finally:
        wait_for_pending(10)
        controller.stop()
