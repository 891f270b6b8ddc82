"""Sending events through openlineage-python's own transports (console, file, http, kafka, ...).

Configuration is the standard OpenLineage one: an explicit config dict, else ``OPENLINEAGE_CONFIG`` /
``./openlineage.yml`` / ``~/.openlineage/openlineage.yml``, ``OPENLINEAGE__TRANSPORT__*`` variables or
``OPENLINEAGE_URL``. ``OPENLINEAGE_DISABLED=true`` turns emission off.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from openlineage.client import OpenLineageClient

from dativo_ingest.errors import ConfigError, TargetError
from dativo_ingest.lineage_graph.events import event_to_dict
from dativo_ingest.lineage_graph.validation import validate_event


def configured_in_environment() -> bool:
    """Whether the environment configures an OpenLineage transport the standard way."""
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OPENLINEAGE_URL") or os.environ.get("OPENLINEAGE_CONFIG"):
        return True
    if any(key.startswith("OPENLINEAGE__TRANSPORT") for key in os.environ):
        return True
    return (Path.cwd() / "openlineage.yml").is_file()


def make_client(config: dict[str, Any] | None = None) -> Any:
    """An ``OpenLineageClient``; ``config`` is the openlineage.yml content (``{"transport": {...}}``)."""
    try:
        return OpenLineageClient(config=config) if config else OpenLineageClient()
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"invalid OpenLineage transport configuration: {exc}", field="transport") from exc


def emit(client: Any, event: Any, *, validate: bool = True) -> dict[str, Any]:
    """Validate ``event`` against the spec and send it; returns the event dict that was sent."""
    payload = event_to_dict(event)
    if validate:
        validate_event(payload)
    try:
        client.emit(event)
    except Exception as exc:  # transports raise requests/kafka/OS errors of their own
        kind = getattr(getattr(client, "transport", None), "kind", "unknown")
        raise TargetError(f"OpenLineage {kind} transport failed: {type(exc).__name__}: {exc}") from exc
    return payload
