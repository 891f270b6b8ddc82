"""``dativo contract test|test-history``: check data at rest against its contract, and the trend.

:class:`dativo_ingest.cli.contract.ContractGroup` imports this module when one of these commands runs.
Exit codes of ``test``: 0 every check passed (warnings and skipped checks included), 1 a check failed,
2 a usage or connection error (unreachable server, wrong credentials, missing table, a filter that does
not parse): one line naming the server, table or check, and nothing recorded.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from dativo_ingest.attest.results import FAILED, PASSED, SKIPPED, WARNED, TestReport, junit_xml
from dativo_ingest.attest.tester import DEFAULT_SAMPLE, contract_id_of, resolve_server, test_contract
from dativo_ingest.cli.app import console, err_console, esc, print_json
from dativo_ingest.errors import DativoError, UsageError
from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.logging import redact_text
from dativo_ingest.policy.config import load_policy
from dativo_ingest.registry.loading import load_contract
from dativo_ingest.server.keys import KeyVerifier
from dativo_ingest.store import quality
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.workspace import Workspace

STYLE = {PASSED: "green", FAILED: "red", WARNED: "yellow", SKIPPED: "dim"}


def _policy(path: Path | None) -> Any:
    """``--policy``, else ``$DATIVO_POLICY``, else ``policy.yaml`` in the workspace (as ``dativo serve``)."""
    if path is None and os.environ.get("DATIVO_POLICY"):
        path = Path(os.environ["DATIVO_POLICY"])
    if path is None:
        default = Workspace.current().root / "policy.yaml"
        path = default if default.exists() else None
    return load_policy(path)


def _usage_error(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {esc(redact_text(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def test(
    contract: Path = typer.Argument(..., help="Contract file (dativo format or ODCS v3.x)."),
    server: str | None = typer.Option(None, "--server", help="The contract's servers entry to test."),
    job: Path | None = typer.Option(
        None, "--job", help="Test the table a job config writes (instead of servers)."
    ),
    where: str | None = typer.Option(
        None, "--filter", help="Rows to test: a SQL predicate (databases, files) or an Iceberg expression."
    ),
    sample: int = typer.Option(
        DEFAULT_SAMPLE, "--sample", min=0, max=1000, help="Failing rows shown per check."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    junit: Path | None = typer.Option(None, "--junit", help="Write a JUnit XML report here."),
    requester: str | None = typer.Option(
        None, "--as", help="Requester the samples are masked for (default: $DATIVO_REQUESTER or anonymous)."
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="DATIVO_API_KEY", help="Take the requester from this API key."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="Policy YAML (default: $DATIVO_POLICY or ./policy.yaml)."
    ),
    record: bool = typer.Option(
        True, "--record/--no-record", help="Store the results in the quality history."
    ),
) -> None:
    """Test data at rest against its contract: checks pushed down to SQL or streamed (exit 1 on a failure)."""
    try:
        if as_json and junit is not None:
            raise UsageError("give --json or --junit, not both")
        asset = load_contract(contract)
        ws = Workspace.current()
        target = resolve_server(asset, server, job, contract.resolve().parent, ws.warehouse)
        who = requester or os.environ.get("DATIVO_REQUESTER")
        if api_key:
            who = KeyVerifier(MetadataStore(ws.database_url)).requester(api_key)
        report = test_contract(
            asset,
            target,
            where=where,
            sample=sample,
            requester=who,
            policy=_policy(policy),
            workspace=ws,
            record=record,
            lineage=record,
        )
    except DativoError as exc:
        raise _usage_error(str(exc)) from None
    if junit is not None:
        atomic_write_text(junit, junit_xml(report))
    if as_json:
        print_json(report.to_dict())
    else:
        _render(report)
        if junit is not None:
            console.print(f"wrote {esc(junit)}", highlight=False)
    if not report.passed:
        raise typer.Exit(1)


def _cell(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _examples(rows: list[dict[str, Any]], column: str | None, limit: int = 3) -> str:
    out = []
    for row in rows[:limit]:
        if column and column in row:
            out.append(_cell(row[column]))
        else:
            out.append(", ".join(f"{k}={_cell(v)}" for k, v in list(row.items())[:3]))
    more = f" (+{len(rows) - limit})" if len(rows) > limit else ""
    return "; ".join(out) + more


def _render(report: TestReport) -> None:
    console.print(
        f"contract [bold]{esc(report.contract_id)}[/] {esc(report.contract_version)} on {esc(report.where)}"
        f" - {report.rows_checked:,} rows, {esc(report.engine)}"
        + (f", filter {esc(report.filter)}" if report.filter else ""),
        highlight=False,
    )
    table = Table(show_lines=False)
    for name, justify in (
        ("check", "left"),
        ("status", "left"),
        ("rows", "right"),
        ("failed", "right"),
        ("share", "right"),
        ("examples / reason", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name == "check")  # type: ignore[arg-type]
    for r in report.results:
        share = f"{r.share:.2%}" if r.share is not None else ""
        if r.status == SKIPPED or (r.reason and not r.examples):
            detail = r.reason or ""
        elif r.value is not None:
            detail = f"value {r.value:g}, expected {r.expected}"
            if r.examples:
                detail += " - " + _examples(r.examples, r.column)
        else:
            detail = _examples(r.examples, r.column)
        table.add_row(
            esc(r.id),
            f"[{STYLE.get(r.status, 'white')}]{r.status}[/]",
            f"{r.rows_checked:,}" if r.rows_checked is not None else "",
            f"{r.failed:,}" if r.failed is not None else "",
            share,
            esc(detail),
        )
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {esc(warning)}", highlight=False)
    counts = report.counts()
    verdict = "[green]passed[/]" if report.passed else "[red]failed[/]"
    console.print(
        f"{verdict}: {counts[PASSED]} passed, {counts[FAILED]} failed, {counts[WARNED]} warned, "
        f"{counts[SKIPPED]} skipped",
        highlight=False,
    )


def _since(text: str | None) -> datetime | None:
    """``7d``, ``12h``, ``30m`` or an ISO date/time."""
    if not text:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if text[-1:] in units and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since {text!r} is not 7d, 12h, 30m or an ISO date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def test_history(
    contract: Path = typer.Argument(..., help="Contract file whose history to show."),
    since: str | None = typer.Option(
        None, "--since", help="Only results since: 7d, 12h, 30m or an ISO date."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Show the trend of each check across contract tests and ingestion runs (oldest first)."""
    try:
        asset = load_contract(contract)
        rows = quality.history(
            MetadataStore.for_workspace(), contract_id=contract_id_of(asset), since=_since(since)
        )
    except DativoError as exc:
        raise _usage_error(str(exc)) from None
    trends = _trends(rows)
    if as_json:
        print_json({"contract": contract_id_of(asset), "checks": trends})
        return
    if not trends:
        console.print(f"no quality results recorded for {esc(contract_id_of(asset))}", highlight=False)
        return
    table = Table()
    for name in ("check", "runs", "latest", "failed (oldest -> newest)", "last run", "where"):
        table.add_column(name)
    for t in trends:
        series = " ".join("-" if p["failed"] is None else str(p["failed"]) for p in t["points"][-10:])
        table.add_row(
            esc(t["check"]),
            str(len(t["points"])),
            f"[{STYLE.get(t['latest'], 'white')}]{t['latest']}[/]",
            esc(series),
            esc(t["points"][-1]["at"]),
            esc(t["points"][-1]["where"]),
        )
    console.print(table)


def _trends(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_check: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_check.setdefault(row["check_id"], []).append(
            {
                "at": row["recorded_at"].isoformat(timespec="seconds").replace("+00:00", "Z"),
                "status": row["status"],
                "rows_checked": row["rows_checked"],
                "failed": row["failed"],
                "value": row["value"],
                "origin": row["origin"],
                "where": row["location"],
                "contract_version": row["contract_version"],
            }
        )
    return [
        {"check": check, "latest": points[-1]["status"], "points": points}
        for check, points in sorted(by_check.items())
    ]


def register(app: typer.Typer) -> None:
    app.command("test")(test)
    app.command("test-history")(test_history)
