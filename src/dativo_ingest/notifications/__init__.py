"""Notifications: events (failed runs, quarantine share, failed contract tests, cost anomalies, forced
breaking changes, SLA breaches) routed to webhooks, Slack and email. See ``docs/notifications.md``.

    from dativo_ingest import notifications
    event = notifications.events.contract_test_failed(asset, failures=[...])
    notifications.dispatch(event)            # returns at once; .wait(timeout) to join the deliveries
"""

from dativo_ingest.notifications import events
from dativo_ingest.notifications.config import EVENTS, NotificationsConfig, load_config
from dativo_ingest.notifications.delivery import Dispatch, dispatch, wait_for_pending
from dativo_ingest.notifications.events import Event

__all__ = [
    "EVENTS",
    "Dispatch",
    "Event",
    "NotificationsConfig",
    "dispatch",
    "events",
    "load_config",
    "wait_for_pending",
]
