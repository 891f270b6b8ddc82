"""Real receivers on 127.0.0.1 for notification tests: an HTTP webhook receiver (http.server) and an SMTP
server (aiosmtpd). The fixtures ``receiver`` and ``smtp_server`` in ``tests/conftest.py`` start them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@contextmanager
def smtp_receiver() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 accepting AUTH LOGIN/PLAIN as user ``dativo`` with
    password ``smtp-pass-5ecret`` over plain text (tests only)."""
    controller_mod = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd not installed (dev extra)")
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox(port=_free_port())

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
        auth_require_tls=False,
        auth_required=False,
    )
    controller.start()
    try:
        yield box
    finally:
        wait_for_pending(10)
        controller.stop()
