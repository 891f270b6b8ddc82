"""``dativo sla check [CONTRACT]``: the contracts' SLA properties checked from run history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.errors import UsageError
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.registry import ContractRegistry
from dativo_ingest.registry.loading import load_contract
from dativo_ingest.sla import check_contracts, notify_breaches
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.workspace import Workspace

sla_app = typer.Typer(
    help="Check contracts' SLAs (freshness, frequency) against run history.", no_args_is_help=True
)

_MARK = {"met": "[green]met[/]", "breached": "[red]breached[/]", "not_checked": "[dim]not checked[/]"}


@sla_app.command("check")
def check(
    contract: str | None = typer.Argument(
        None, help="A contract file or SOURCE/OBJECT[@VERSION] in the registry (default: every contract)."
    ),
    at: str | None = typer.Option(None, "--at", help="Check as of this ISO-8601 time (default: now)."),
    notify: bool = typer.Option(False, "--notify", help="Send an sla_breached notification per breach."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List SLA breaches (no successful run within the freshness window, a run later than its
    frequency); exit code 1 when any contract is in breach."""
    ws = Workspace.current()
    moment = _moment(at)
    assets = [_load(contract, ws)] if contract else _registered(ws)
    reports = check_contracts(MetadataStore.for_workspace(ws), assets, moment)
    if notify:
        by_name = {_name(a): a for a in assets}
        for report in reports:
            notify_breaches(report, by_name[report["name"]], ws)
    if as_json:
        print_json(reports)
    else:
        _print(reports, contract)
    if any(r["breaches"] for r in reports):
        raise typer.Exit(1)


def _print(reports: list[dict[str, Any]], contract: str | None) -> None:
    if not reports:
        console.print(f"no SLA properties in {esc(contract) if contract else 'any registered contract'}")
        return
    for report in reports:
        console.print(f"[bold]{esc(report['name'])}[/] {esc(report['version'])}", highlight=False)
        for result in report["results"]:
            unit = f" {result['unit']}" if result["unit"] else ""
            console.print(
                f"  {esc(result['property'])} {esc(str(result['value']))}{esc(unit)}: "
                f"{_MARK[result['status']]}  {esc(result['detail'])}",
                highlight=False,
            )
            for breach in result["breaches"]:
                console.print(f"    - {esc(breach['message'])}", highlight=False)
    breached = sum(1 for r in reports if r["breaches"])
    console.print(f"{breached} of {len(reports)} contract(s) in breach", highlight=False)


def _load(ref: str, ws: Workspace) -> AssetDefinition:
    if Path(ref).is_file():
        return load_contract(ref)
    name, _, version = ref.partition("@")
    source, _, obj = name.partition("/")
    if not source or not obj or "/" in obj:
        raise UsageError(f"'{ref}' is neither a file nor a registry reference (SOURCE/OBJECT[@VERSION])")
    return ContractRegistry(ws.specs).load(source, obj, version or None)


def _registered(ws: Workspace) -> list[AssetDefinition]:
    registry = ContractRegistry(ws.specs)
    return [registry.load(source, obj, version) for source, obj, version in registry.contracts()]


def _name(asset: AssetDefinition) -> str:
    return f"{asset.source_type}/{asset.object_name}" if asset.source_type else asset.object_name


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at must be an ISO-8601 time, got {value!r}", field="at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    app.add_typer(sla_app, name="sla")
