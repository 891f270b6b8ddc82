"""``dativo contract check``: the pull-request gate (text, JSON, JUnit, GitHub annotations, Markdown).

Imported only when ``dativo contract check`` runs (:class:`dativo_ingest.cli.contract.ContractGroup`), so
the lineage and FinOps stores it reads for the downstream impact cost nothing to the other contract
commands.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import typer

from dativo_ingest.changes.accepted import Acceptance, load_accepted, parse_date
from dativo_ingest.cli.app import console, esc
from dativo_ingest.errors import UsageError
from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.lineage import StoreUsageSource
from dativo_ingest.registry.gate import FAIL_ON, GateReport, run_gate
from dativo_ingest.registry.gate_render import (
    annotation_level,
    as_json,
    github_annotations,
    junit,
    markdown,
    status_text,
)
from dativo_ingest.registry.impact import ImpactReader
from dativo_ingest.workspace import Workspace

FORMATS = ("text", "json", "junit", "github", "markdown")
STYLE = {"error": "red", "warning": "yellow", "notice": "green"}
LINEAGE_HELP = "Ask the lineage store which dbt models read a removed column (unused optional: MINOR)."


def _today(value: str | None) -> date:
    if not value:
        return datetime.now(UTC).date()
    try:
        return parse_date(value, what="--today")
    except ValueError as exc:
        raise UsageError(str(exc), field="--today") from None


def _accepted(path: Path | None) -> tuple[list[Acceptance], str | None]:
    file = path if path is not None else Workspace.current().state / "accepted-changes.yaml"
    if path is not None and not file.is_file():
        raise UsageError("accepted-changes file not found", path=file, field="--accepted")
    return load_accepted(file), (str(file) if file.is_file() else None)


def check(
    paths: list[Path] = typer.Argument(
        ..., help="Contract files to check (e.g. the ones a pull request changes)."
    ),
    against: str = typer.Option(..., "--against", help="Baseline: a specs directory, or git:REF."),
    output_format: str = typer.Option(
        "text", "--format", help=f"Report format: {', '.join(FORMATS)}.", show_default=True
    ),
    fail_on: str = typer.Option(
        "any",
        "--fail-on",
        help="Which changes without their version bump fail: any, breaking (smaller ones warn) or never.",
        show_default=True,
    ),
    accepted: Path | None = typer.Option(
        None, "--accepted", help="Accepted-changes file (default: .dativo/accepted-changes.yaml)."
    ),
    today: str | None = typer.Option(
        None, "--today", envvar="DATIVO_TODAY", help="Judge expiry dates as of this day (YYYY-MM-DD)."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report here, not stdout."),
    junit_file: Path | None = typer.Option(None, "--junit", help="Also write a JUnit XML report here."),
    impact: bool = typer.Option(
        True, "--impact/--no-impact", help="Read downstream impact and costs from the metadata store."
    ),
    perspective: str = typer.Option(
        "spec", "--perspective", help="spec (the spec's bump rules), consumer or producer."
    ),
    lineage: bool = typer.Option(False, "--lineage", help=LINEAGE_HELP),
    as_json_flag: bool = typer.Option(False, "--json", help="Same as --format json."),
) -> None:
    """CI gate: exit 1 when a contract changes without the version bump its changes need."""
    chosen = "json" if as_json_flag else output_format
    if chosen not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got '{chosen}'", field="--format")
    if fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)}, got '{fail_on}'", field="--fail-on")
    entries, accepted_file = _accepted(accepted)
    report = run_gate(
        paths,
        against,
        fail_on=fail_on,
        today=_today(today),
        accepted=entries,
        accepted_file=accepted_file,
        perspective=perspective,
        usage=StoreUsageSource() if lineage else None,
        impact=ImpactReader() if impact else None,
    )
    root = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
    if junit_file is not None:
        atomic_write_text(junit_file, junit(report, root))
    if chosen == "text" and output is None:
        _print_text(report)
    else:
        rendered = {
            "text": lambda: _plain_text(report),
            "json": lambda: as_json(report),
            "junit": lambda: junit(report, root),
            "github": lambda: github_annotations(report, root),
            "markdown": lambda: markdown(report, root),
        }[chosen]()
        _emit(rendered, output)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if chosen == "github" and summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown(report, root))
    if not report.ok:
        raise typer.Exit(1)


def _emit(text: str, output: Path | None) -> None:
    if output is not None:
        atomic_write_text(output, text)
    else:
        typer.echo(text, nl=False)


def _lines(report: GateReport) -> list[tuple[str, str]]:
    """``(style, text)`` lines of the text report."""
    out: list[tuple[str, str]] = []
    for contract in report.contracts:
        r = contract.result
        mark = "PASS" if contract.ok else "FAIL"
        out.append(("green" if contract.ok else "red", f"{mark} {r.path} ({r.name}): {contract.message}"))
        for judged in contract.changes:
            level = annotation_level(judged)
            where = f"{r.path}:{judged.line}" if judged.line else r.path
            label = judged.change.severity.label.upper()
            text = f"  {label:<5} {judged.change.path}: {judged.change.message} [{judged.id}] ({where})"
            if judged.status != "unversioned" or judged.fails:
                text += f" - {status_text(judged)}"
            out.append((STYLE[level], text))
        if contract.impact is not None and contract.impact.consumers:
            readers = ", ".join(
                c.unique_id + (f" ({c.owner})" if c.owner else "") for c in contract.impact.consumers
            )
            out.append(("", f"  impact: {readers}"))
    for entry in report.unused:
        out.append(("yellow", f"note: accepted change {entry.contract} {entry.change} names no change"))
    return out


def _print_text(report: GateReport) -> None:
    for style, text in _lines(report):
        console.print(f"[{style}]{esc(text)}[/]" if style else esc(text), highlight=False)


def _plain_text(report: GateReport) -> str:
    return "".join(text + "\n" for _, text in _lines(report))


def register(app: typer.Typer) -> None:
    app.command("check")(check)
