"""``dativo finops report|export``: cost attribution tables and FOCUS 1.2 / 1.3 billing files."""

from __future__ import annotations

import csv
import io
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.errors import UsageError
from dativo_ingest.finops import cost_report, export_focus
from dativo_ingest.finops.periods import since_hours

finops_app = typer.Typer(
    help="Run costs: attribution reports and FOCUS billing export.", no_args_is_help=True
)

MONEY = ("compute", "storage", "network", "api", "total")


def register(app: typer.Typer) -> None:
    app.add_typer(finops_app, name="finops")


def _label(by: str, group: dict[str, Any]) -> list[str]:
    if by == "job":
        return [group["tenant_id"], group["job_name"]]
    value = group["tenant_id"] if by == "tenant" else group["cost_center"]
    return [value if value is not None else "(none)"]


def _headers(by: str) -> list[str]:
    keys = {"tenant": ["tenant"], "job": ["tenant", "job"], "cost_center": ["cost_center"]}[by]
    return [
        *keys,
        "runs",
        "cpu_hours",
        "gib_ingested",
        "gib_written",
        "api_calls",
        *(f"{m}_usd" for m in MONEY),
    ]


def _cells(by: str, group: dict[str, Any]) -> list[str]:
    gib = Decimal(1024**3)
    return [
        *_label(by, group),
        str(group["runs"]),
        f"{group['cpu_time_sec'] / 3600:.6f}",
        format((Decimal(group["data_bytes_ingested"]) / gib).quantize(Decimal("1e-6")), "f"),
        format((Decimal(group["data_bytes_written"]) / gib).quantize(Decimal("1e-6")), "f"),
        str(group["api_calls_count"]),
        *(format(group["cost_usd"][m], "f") for m in MONEY),
    ]


def _total_cells(by: str, report: dict[str, Any]) -> list[str]:
    groups = report["groups"]
    width = 2 if by == "job" else 1
    gib = Decimal(1024**3)
    return [
        "TOTAL",
        *([""] * (width - 1)),
        str(report["runs"]),
        f"{sum(g['cpu_time_sec'] for g in groups) / 3600:.6f}",
        format((Decimal(sum(g["data_bytes_ingested"] for g in groups)) / gib).quantize(Decimal("1e-6")), "f"),
        format((Decimal(sum(g["data_bytes_written"] for g in groups)) / gib).quantize(Decimal("1e-6")), "f"),
        str(sum(g["api_calls_count"] for g in groups)),
        *(format(report["totals_usd"][m], "f") for m in MONEY),
    ]


def _json_ready(report: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return plain(report)


@finops_app.command("report")
def report(
    by: str = typer.Option("tenant", "--by", help="Group by tenant, job or cost_center."),
    since: str | None = typer.Option(None, "--since", help="Only runs started in the last 12h / 30d / 2w."),
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's runs."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """Costs of finished runs grouped by tenant, job or cost centre; totals equal the sum of the runs."""
    if fmt not in ("table", "csv", "json"):
        raise UsageError(f"must be table, csv or json; got {fmt!r}", field="format")
    hours = since_hours(since) if since else None
    result = cost_report(by, since_hours=hours, tenant_id=tenant)
    if fmt == "json":
        print_json(_json_ready(result))
        return
    rows = [_cells(by, g) for g in result["groups"]]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_headers(by))
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
        return
    out = console if console.is_terminal else Console(width=250, soft_wrap=True)  # pipes: no truncation
    window = f" since {result['since']}" if result["since"] else ""
    table = Table(title=esc(f"FinOps costs by {by}{window} (USD)"), show_footer=True)
    totals = _total_cells(by, result)
    for header, footer in zip(_headers(by), totals, strict=True):
        numeric = header not in ("tenant", "job", "cost_center")
        table.add_column(header, footer=esc(footer), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*map(esc, row))
    out.print(table)
    if not rows:
        out.print(esc("no finished runs recorded" + window))


@finops_app.command("export")
def export(
    fmt: str = typer.Option("focus", "--format", help="Export format: focus (FOCUS billing data)."),
    period: str = typer.Option(..., "--period", help="Billing month as YYYY-MM (UTC)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .csv or .parquet."),
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's runs."),
    focus_version: str = typer.Option(
        "1.2", "--focus-version", help="FOCUS version: 1.2 or 1.3 (1.3 also writes FILE.metadata.json)."
    ),
) -> None:
    """Write the month's charges as a FOCUS cost and usage file (FOCUS 1.2 unless --focus-version 1.3)."""
    if fmt != "focus":
        raise UsageError(f"must be focus; got {fmt!r}", field="format")
    result = export_focus(period, out, tenant_id=tenant, focus_version=focus_version)
    console.print(
        f"wrote {result['rows']} FOCUS {result['focus_version']} rows ({result['runs']} runs, billed "
        f"{format(result['billed_cost_usd'], 'f')} USD) for {esc(period)} to {esc(result['path'])}",
        highlight=False,
    )
    if "metadata_path" in result:
        console.print(f"wrote its FOCUS dataset metadata to {esc(result['metadata_path'])}", highlight=False)
