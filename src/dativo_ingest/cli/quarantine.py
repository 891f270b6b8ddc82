"""``dativo quarantine list|show|replay JOB``: inspect a job's quarantined rows and land the ones that
the contract now in force accepts (see docs/quarantine.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from dativo_ingest.cli.app import console, err_console, esc, print_json
from dativo_ingest.errors import QuarantineEmptyError
from dativo_ingest.ingest import load_job
from dativo_ingest.ingest.quarantine_state import REPLAYED
from dativo_ingest.ingest.replay import ReplayResult, job_quarantine, replay_quarantine
from dativo_ingest.logging import redact_text

quarantine_app = typer.Typer(
    help="Inspect quarantined rows and replay them against the contract now in force.",
    no_args_is_help=True,
)

JOB = typer.Argument(..., help="The job's config YAML file.", dir_okay=False)
RECORD_WIDTH = 100  # characters of a row's source values shown by ``show`` (``--json``: all)


@quarantine_app.command("list")
def list_runs(
    job: Path = JOB,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the runs with quarantined rows: rows, replayed, still quarantined and their reasons."""
    config = load_job(job)
    _, view = job_quarantine(config)
    runs = view.runs()
    if as_json:
        print_json({"quarantine_table": view.quarantine_table, "runs": [r.to_dict() for r in runs]})
        return
    name = f"{config.tenant_id}/{config.name}"
    if not runs:
        console.print(esc(f"job {name} has no quarantined rows in {view.quarantine_table}"), highlight=False)
        return
    replayed = sum(r.replayed for r in runs)
    total = sum(r.rows for r in runs)
    table = Table(
        title=esc(
            f"{name}: {total:,} row(s) in {len(runs)} run(s) of {view.quarantine_table} "
            f"({replayed:,} replayed, {total - replayed:,} quarantined)"
        ),
        title_justify="left",
    )
    for column in ("run", "quarantined at", "contract", "rows", "replayed", "quarantined", "reasons now"):
        table.add_column(column, justify="right" if column in ("rows", "replayed", "quarantined") else "left")
    for run in runs:
        table.add_row(
            esc(run.run_id[:12]),
            esc(run.quarantined_at.strftime("%Y-%m-%d %H:%M:%S")),
            esc(run.contract_version or "-"),
            f"{run.rows:,}",
            f"{run.replayed:,}",
            f"{run.quarantined:,}",
            esc(", ".join(f"{k}={v}" for k, v in sorted(run.reasons.items())) or "-"),
        )
    console.print(table)


@quarantine_app.command("show")
def show(
    job: Path = JOB,
    run: str = typer.Option(..., "--run", help="The run id (or a unique prefix, as `list` shows it)."),
    limit: int = typer.Option(20, "--limit", min=1, help="Show at most this many rows."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (every row, full source values)."),
) -> None:
    """Show a run's quarantined rows: where each came from, its status, its reasons and its values."""
    config = load_job(job)
    with _nothing_quarantined():
        _, view = job_quarantine(config, run=run)
    rows = view.rows[:limit]
    if as_json:
        print_json({"quarantine_table": view.quarantine_table, "rows": [r.to_dict() for r in rows]})
        return
    run_id = view.rows[0].run_id if view.rows else run
    table = Table(
        title=esc(f"run {run_id}: {len(view.rows):,} quarantined row(s), showing {len(rows):,}"),
        title_justify="left",
    )
    for column in ("where", "status", "reasons", "values"):
        table.add_column(column)
    for row in rows:
        reasons = ", ".join(row.reasons) or "-"
        if row.status != REPLAYED and row.reasons != row.first_reasons:
            reasons += f" (v{row.checked_version}; was {', '.join(row.first_reasons)})"
        status = f"replayed by {row.replay_run_id[:12]}" if row.replay_run_id else row.status
        record = row.record if len(row.record) <= RECORD_WIDTH else row.record[: RECORD_WIDTH - 3] + "..."
        table.add_row(esc(row.source_location or row.source_row), esc(status), esc(reasons), esc(record))
    console.print(table)


@quarantine_app.command("replay")
def replay(
    job: Path = JOB,
    run: str = typer.Option(None, "--run", help="Replay only this run's rows (id or unique prefix)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Re-validate and report; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the replay result as JSON."),
) -> None:
    """Re-validate quarantined rows against the contract now in force; land the passing ones once."""
    config = load_job(job)
    with _nothing_quarantined():
        result = replay_quarantine(config, run=run, dry_run=dry_run)
    if as_json:
        print_json(result.to_dict())
        return
    _summary(result)


@contextmanager
def _nothing_quarantined() -> Iterator[None]:
    """No quarantined rows (for the job, or the ``--run``): one error line and its own exit code, 2."""
    try:
        yield
    except QuarantineEmptyError as exc:
        err_console.print(f"[bold red]error:[/] {esc(redact_text(str(exc)))}", highlight=False)
        raise typer.Exit(exc.exit_code) from None


def _summary(result: ReplayResult) -> None:
    if result.status == "nothing_to_replay":
        console.print(
            esc(
                f"{result.tenant_id}/{result.job_name}: nothing to replay "
                f"({result.rows_already_replayed:,} row(s) already replayed, "
                f"{result.rows_not_replayable:,} malformed row(s) kept); nothing written"
            ),
            highlight=False,
        )
        return
    dry = result.status == "dry_run"
    colour = "yellow" if dry else "green"
    table = Table(
        title=f"{esc(result.tenant_id)}/{esc(result.job_name)} replay [{colour}]{esc(result.status)}[/]",
        show_header=False,
        title_justify="left",
    )
    table.add_column("", style="bold")
    table.add_column("")
    would = "would land" if dry else "landed"
    rows: list[tuple[str, Any]] = [
        ("target", result.target),
        ("contract", f"{result.contract.get('id')} v{result.contract.get('version')}"),
        ("rows checked", f"{result.rows_checked:,} (from {len(result.runs)} run(s))"),
        (f"rows {would}", f"{result.rows_landed:,}"),
        (
            "still quarantined",
            f"{result.rows_still_quarantined:,} ({result.reasons_changed:,} with new reasons)",
        ),
        ("reasons now", ", ".join(f"{k}={v}" for k, v in result.rule_failures.items()) or "-"),
        ("already replayed", f"{result.rows_already_replayed:,}"),
    ]
    if result.rows_not_replayable:
        rows.append(("malformed (kept)", f"{result.rows_not_replayable:,}"))
    if not dry:
        cost = result.cost_usd
        rows += [
            ("snapshot", result.snapshot_id or "-"),
            ("ledger snapshot", result.ledger_snapshot_id or "-"),
            ("duration", f"{result.duration_seconds:.2f} s"),
            ("cost", f"${cost:.6f}" if isinstance(cost, int | float) else "-"),
            ("lineage run", result.lineage_run_id or "-"),
        ]
    else:
        rows.append(("written", "nothing (dry run)"))
    for row in result.still_quarantined[:5]:
        rows.append(("still failing", f"{row['source_location']}: {', '.join(row['reasons'])}"))
    for warning in result.warnings:
        rows.append(("warning", warning))
    for key, value in rows:
        table.add_row(key, esc(value))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app, name="quarantine")
