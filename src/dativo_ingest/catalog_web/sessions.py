"""Sign-in sessions of the web catalog: a random token in an HttpOnly, SameSite=Strict cookie.

The server keeps, per token, the API key presented at sign-in (never sent back) and when the session
ends. Every request checks that key again with the key store (through the verifier's one-second cache),
so revoking the key ends its sessions; the requester is always the key's, never the cookie's.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

COOKIE = "dativo_session"
SESSION_SECONDS = 8 * 3600
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    key: str
    requester: str
    expires: float


class SessionStore:
    """Sessions in memory (they end with the server process, like a restart ends them everywhere)."""

    def __init__(self, lifetime: float = SESSION_SECONDS) -> None:
        self.lifetime = lifetime
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, key: str, requester: str) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._sessions = {t: s for t, s in self._sessions.items() if s.expires > now}
                if len(self._sessions) >= MAX_SESSIONS:
                    self._sessions.pop(next(iter(self._sessions)))
            self._sessions[token] = Session(key, requester, now + self.lifetime)
        return token

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires <= time.monotonic():
                del self._sessions[token]
                return None
        return session

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(token, None)
