"""``dativo notifications list``: every notification delivery and its attempts (never a secret)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.errors import UsageError
from dativo_ingest.notifications import EVENTS
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.notifications import list_deliveries

notifications_app = typer.Typer(
    help="Notification deliveries: what was sent where, and what failed.", no_args_is_help=True
)

_MARK = {"delivered": "[green]delivered[/]", "failed": "[red]failed[/]", "pending": "[yellow]pending[/]"}


@notifications_app.command("list")
def list_command(
    failed: bool = typer.Option(False, "--failed", help="Only deliveries that failed after every attempt."),
    event: str | None = typer.Option(None, "--event", help=f"Only this event ({', '.join(EVENTS)})."),
    limit: int = typer.Option(50, "--limit", min=1, help="Newest N deliveries."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON (with every attempt)."),
) -> None:
    """List notification deliveries, newest first: event, channel, target, status and attempts."""
    if event is not None and event not in EVENTS:
        raise UsageError(f"unknown event {event!r}; known events: {', '.join(EVENTS)}", field="event")
    rows = list_deliveries(MetadataStore.for_workspace(), failed_only=failed, event=event, limit=limit)
    if as_json:
        print_json([_iso_times(row) for row in rows])
        return
    if not rows:
        console.print("no notification deliveries" + (" failed" if failed else ""))
        return
    for row in rows:
        head = esc(
            f"{row['created_at'].isoformat(timespec='seconds')}  {row['event']}  -> {row['channel']} "
            f"({row['channel_type']} {row['target']})"
        )
        tail = f"  {row['attempts']} attempt(s)" + (
            f": {row['last_error']}" if row["status"] != "delivered" else ""
        )
        console.print(f"{head}  {_MARK.get(row['status'], esc(row['status']))}{esc(tail)}", highlight=False)
        console.print(f"    {esc(row['summary'])}", highlight=False, soft_wrap=True)


def _iso_times(row: dict[str, Any]) -> dict[str, Any]:
    """Datetimes as ISO 8601 (``2026-03-10T12:00:04.123456+00:00``), in the attempts too."""
    out: dict[str, Any] = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
    attempts = row.get("attempts_detail")
    if isinstance(attempts, list):
        out["attempts_detail"] = [_iso_times(a) for a in attempts]
    return out


def register(app: typer.Typer) -> None:
    app.add_typer(notifications_app, name="notifications")
