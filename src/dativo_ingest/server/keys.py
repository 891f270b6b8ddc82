"""API keys: ``dtv_<key id>_<secret>``, each bound to one requester; the store keeps only a SHA-256 hash.

Keys are 256-bit random tokens, so a fast hash is enough (no password stretching needed); comparison
is constant-time. The requester identity of a request comes from its key and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from typing import Any

from dativo_ingest.errors import AuthenticationError, NotFoundError, UsageError
from dativo_ingest.policy.guard import RESERVED_REQUESTERS, requester_name
from dativo_ingest.policy.keyids import PREFIX, key_id_of
from dativo_ingest.store import apikeys
from dativo_ingest.store.audit import utc_stamp

CACHE_SECONDS = 1.0  # a verified key is trusted this long before the store is asked again


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(store: Any, requester: str, label: str | None = None) -> tuple[str, str]:
    """A new key for ``requester``: ``(key_id, key)``. The key is shown once and never stored."""
    name = requester_name(requester)
    if name.lower() in RESERVED_REQUESTERS:
        raise UsageError(
            f"{name!r} is reserved for the audit log (callers without a valid key); choose another name",
            field="requester",
        )
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    apikeys.insert(
        store,
        {
            "key_id": key_id,
            "requester": name,
            "key_hash": _hash(key),
            "label": label,
            "created_at": utc_stamp(),
            "revoked_at": None,
        },
    )
    return key_id, key


def revoke_key(store: Any, key_id: str) -> None:
    """Revoke a key by id (effective within :data:`CACHE_SECONDS`)."""
    if not apikeys.revoke(store, key_id, utc_stamp()):
        raise NotFoundError(f"no active API key {key_id!r}", field="key_id")


def list_keys(store: Any) -> list[dict[str, Any]]:
    return apikeys.list_all(store)


class KeyVerifier:
    """Turns a presented key into its requester, with a short in-memory cache of verified keys."""

    def __init__(self, store: Any, cache_seconds: float = CACHE_SECONDS) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def cached(self, presented: str | None) -> str | None:
        """The requester of a key verified less than ``cache_seconds`` ago, else None (no I/O: callers
        on an event loop use this first and run :meth:`requester` in a thread only when it misses)."""
        if not presented:
            return None
        hit = self._cache.get(_hash(presented))
        return hit[0] if hit and hit[1] > time.monotonic() else None

    def requester(self, presented: str | None) -> str:
        """The requester bound to ``presented``; :class:`AuthenticationError` when missing or invalid."""
        if not presented:
            raise AuthenticationError("missing API key (send 'Authorization: Bearer <key>' or 'X-API-Key')")
        if (who := self.cached(presented)) is not None:
            return who
        key_id = key_id_of(presented)
        if key_id is None:
            raise AuthenticationError("invalid API key")
        digest = _hash(presented)
        now = time.monotonic()
        row = apikeys.get(self.store, key_id)
        if row is None or row["revoked_at"] is not None or not hmac.compare_digest(row["key_hash"], digest):
            raise AuthenticationError("invalid API key")
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (row["requester"], now + self.cache_seconds)
        return row["requester"]


def presented_key(headers: Any) -> str | None:
    """The key in ``Authorization: Bearer ...`` or ``X-API-Key`` (a Starlette/ASGI header mapping)."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return headers.get("x-api-key") or None
