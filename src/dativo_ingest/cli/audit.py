"""``dativo audit``: the policy decisions the AI context API recorded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import typer

from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.errors import UsageError
from dativo_ingest.store import audit as audit_store
from dativo_ingest.store.database import MetadataStore


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """``30m``, ``24h``, ``7d`` (ago) or an ISO-8601 time; None passes through."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return (now or datetime.now(UTC)) - timedelta(**{unit: float(match.group(1))})
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since must look like 30m, 24h, 7d or an ISO time, got {value!r}", field="since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def audit(
    requester: str | None = typer.Option(None, "--requester", help="Only this requester's decisions."),
    since: str | None = typer.Option(None, "--since", help="30m, 24h, 7d or an ISO time."),
    action: str | None = typer.Option(None, "--action", help="Only this action (get_asset_context, ...)."),
    limit: int = typer.Option(100, "--limit", min=1, help="Newest N decisions."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show recorded policy decisions (oldest first)."""
    rows = audit_store.query(
        MetadataStore.for_workspace(),
        requester=requester,
        since=parse_since(since),
        action=action,
        limit=limit,
    )
    if as_json:
        print_json(rows)
        return
    for r in rows:
        mark = "[green]allowed[/]" if r["allowed"] else f"[red]{esc(r['outcome'])}[/]"
        who = esc(f"{r['at']}  {r['requester']}  {r['channel']}  {r['action']}  {r['resource_id']}")
        console.print(
            f"{who}  {mark}  {esc(r['reason'])}",
            highlight=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
