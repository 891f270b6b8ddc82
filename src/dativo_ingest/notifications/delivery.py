"""Dispatch: route an event to its channels and deliver in the background, with retries, on the record.

:func:`dispatch` returns at once. Each (event, channel) delivery is stored as ``pending`` and then
attempted on a daemon thread: up to ``retry.attempts`` times, waiting ``backoff_seconds * 2**(n-1)``
(capped at ``max_backoff_seconds``) between attempts, each attempt bounded by ``timeout_seconds``.
Every attempt is stored; the last one sets ``delivered`` or ``failed``. Nothing here raises into the
caller: a broken configuration or store is logged (redacted) and the caller's work goes on.

At interpreter exit, pending deliveries get up to :data:`FLUSH_SECONDS` to finish (a CLI run prints
its result first, then waits for its notifications); :func:`wait_for_pending` does the same on demand.
"""

from __future__ import annotations

import atexit
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dativo_ingest.errors import DativoError
from dativo_ingest.logging import get_logger, redact_text
from dativo_ingest.notifications import senders
from dativo_ingest.notifications.config import (
    EmailChannel,
    EventRoute,
    NotificationsConfig,
    RetryConfig,
    load_config,
)
from dativo_ingest.notifications.events import Event
from dativo_ingest.store import notifications as store_notifications
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.workspace import Workspace

log = get_logger(__name__)

FLUSH_SECONDS = 60.0
MAX_THREADS = 8  # deliveries in flight at once; more wait for a slot

_slots = threading.BoundedSemaphore(MAX_THREADS)
_pending: set[threading.Thread] = set()
_pending_lock = threading.Lock()


@dataclass
class Dispatch:
    """The deliveries one :func:`dispatch` started; :meth:`wait` joins them."""

    event: Event
    delivery_ids: list[str] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every delivery to finish (``timeout`` seconds in all); True when all finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self.threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)


def dispatch(
    event: Event,
    *,
    workspace: Workspace | None = None,
    config: NotificationsConfig | None = None,
    job_section: dict | None = None,
    job_path: str | None = None,
    store: MetadataStore | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Dispatch:
    """Send ``event`` to the channels its route names (see the module docstring); never raises.

    ``config`` defaults to the workspace's ``dativo.yaml`` section with ``job_section`` (a job's
    ``notifications:`` override, from ``job_path``) applied. ``sleep`` is the backoff wait (tests pass
    a short one).
    """
    handle = Dispatch(event)
    try:
        ws = workspace or Workspace.current()
        if config is None:
            config = load_config(ws, job_section, job_path)
        if config is None:
            return handle
        route = config.route(event.name)
        if route is None or not accepts(route, event):
            return handle
        store = store or MetadataStore(ws.database_url)
        names = channels_for(route, event, config)
    except Exception as exc:  # never fail the caller's work
        _not_sent(event, exc)
        return handle
    for name in names:  # one channel's trouble never keeps the event from the others
        try:
            handle.delivery_ids.append(_start(handle, store, config, name, sleep))
        except Exception as exc:
            _not_sent(event, exc, name)
    return handle


def _not_sent(event: Event, exc: Exception, channel: str | None = None) -> None:
    reason = str(exc) if isinstance(exc, DativoError) else f"{type(exc).__name__}: {exc}"
    to = f" to {channel}" if channel else ""
    log.warning(f"notification {event.name} not sent{to}: {redact_text(reason)}")


def accepts(route: EventRoute, event: Event) -> bool:
    """The route's condition: quarantine share above ``threshold``, anomaly at or above ``min_severity``."""
    if event.name == "quarantine_share":
        return float(event.details.get("share", 0)) > (route.threshold or 0.0)
    if event.name == "cost_anomaly":
        order = {"medium": 0, "high": 1}
        return order.get(str(event.details.get("severity")), 0) >= order[route.min_severity or "high"]
    return True


def channels_for(route: EventRoute, event: Event, config: NotificationsConfig) -> list[str]:
    """The route's channels; else the contract's ``notification_channels`` that are configured; else
    every configured channel."""
    if route.channels is not None:
        return list(route.channels)
    named = [c for c in event.channels if c in config.channels]
    if event.channels and not named:
        log.warning(
            "contract names no configured notification channel; sending to every channel",
            extra={"fields": {"event": event.name, "contract_channels": list(event.channels)}},
        )
    return named or sorted(config.channels)


def recipients_for(channel: EmailChannel, event: Event) -> list[str]:
    """``to`` plus the contract's on-call (unless ``oncall: false``), without duplicates."""
    found = list(channel.to) + (list(event.oncall) if channel.oncall else [])
    return list(dict.fromkeys(a.strip() for a in found if a and "@" in a))


def backoff(retry: RetryConfig, attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based)."""
    return min(retry.backoff_seconds * 2 ** (attempt - 1), retry.max_backoff_seconds)


def wait_for_pending(timeout: float | None = None) -> bool:
    """Wait for every delivery of this process to finish; True when none is left."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _pending_lock:
            threads = list(_pending)
        if not threads:
            return True
        for thread in threads:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            thread.join(remaining)


def _start(
    handle: Dispatch,
    store: MetadataStore,
    config: NotificationsConfig,
    name: str,
    sleep: Callable[[float], None],
) -> str:
    channel = config.channels[name]
    event = handle.event
    delivery_id = uuid.uuid4().hex
    store_notifications.insert_delivery(
        store,
        {
            "delivery_id": delivery_id,
            "event_id": event.event_id,
            "event": event.name,
            "channel": name,
            "channel_type": channel.type,
            "target": senders.describe(channel),
            "summary": event.summary[:1000],
            "contract": event.contract,
            "job": event.job,
            "run_id": event.run_id,
            "created_at": datetime.now(UTC),
        },
    )
    thread = threading.Thread(
        target=_deliver,
        args=(store, config, name, event, delivery_id, sleep),
        name=f"dativo-notify-{name}",
        daemon=True,
    )
    with _pending_lock:
        _pending.add(thread)
    handle.threads.append(thread)
    thread.start()
    return delivery_id


def _deliver(
    store: MetadataStore,
    config: NotificationsConfig,
    name: str,
    event: Event,
    delivery_id: str,
    sleep: Callable[[float], None],
) -> None:
    channel = config.channels[name]
    recipients = recipients_for(channel, event) if isinstance(channel, EmailChannel) else None
    attempts = config.retry.attempts
    try:
        with _slots:
            for attempt in range(1, attempts + 1):
                began = time.monotonic()
                try:
                    outcome = senders.attempt(
                        channel, event, timeout=config.timeout_seconds, recipients=recipients
                    )
                except senders.DeliveryFailed as failed:
                    last = attempt == attempts or failed.permanent
                    _record(
                        store,
                        delivery_id,
                        attempt,
                        began,
                        "error",
                        failed.reason,
                        "failed" if last else "pending",
                    )
                    if last:
                        log.warning(
                            "notification not delivered",
                            extra={
                                "fields": {
                                    "event": event.name,
                                    "channel": name,
                                    "attempts": attempt,
                                    "error": failed.reason,
                                }
                            },
                        )
                        return
                    sleep(backoff(config.retry, attempt))
                    continue
                _record(store, delivery_id, attempt, began, "delivered", outcome, "delivered")
                log.info("notification delivered", extra={"fields": {"event": event.name, "channel": name}})
                return
    except Exception as exc:  # a store failure in the background: logged, never raised
        log.warning(
            "notification delivery not recorded",
            extra={"fields": {"event": event.name, "channel": name, "error": redact_text(str(exc))}},
        )
    finally:
        with _pending_lock:
            _pending.discard(threading.current_thread())


def _record(
    store: MetadataStore, delivery_id: str, attempt: int, began: float, outcome: str, detail: str, status: str
) -> None:
    store_notifications.record_attempt(
        store,
        delivery_id,
        attempt,
        at=datetime.now(UTC),
        outcome=outcome,
        detail=redact_text(detail),
        duration_ms=int((time.monotonic() - began) * 1000),
        status=status,
    )


@atexit.register
def _flush_at_exit() -> None:
    if not wait_for_pending(FLUSH_SECONDS):
        log.warning("notifications still pending at exit were abandoned")
