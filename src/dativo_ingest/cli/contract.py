"""``dativo contract validate|convert``: check contract files and translate between dialects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from dativo_ingest.cli.app import LazyCommand, LazyGroup, console, esc, print_json
from dativo_ingest.config import AssetDefinition
from dativo_ingest.errors import UsageError
from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.odcs.validation import validate_file
from dativo_ingest.yamlio import dumps


class ContractGroup(LazyGroup):
    """``dativo contract``: validate and convert here; the registry commands in
    :mod:`dativo_ingest.cli.contract_registry` and the gate in :mod:`dativo_ingest.cli.contract_gate`,
    each imported only when one of its commands runs."""

    lazy_commands = {
        **{name: LazyCommand("dativo_ingest.cli.contract_registry") for name in ("save", "diff", "history")},
        # a help line of its own: listing `dativo contract --help` then imports no store
        "check": LazyCommand(
            "dativo_ingest.cli.contract_gate",
            "CI gate: exit 1 when a contract changes without the version bump its changes need.",
        ),
        "import": LazyCommand(
            "dativo_ingest.cli.contract_import",
            "Import contracts from databases, Iceberg, files, DDL or dbt: one per table, all or nothing.",
        ),
        **{name: LazyCommand("dativo_ingest.cli.contract_test") for name in ("test", "test-history")},
    }


contract_app = typer.Typer(
    cls=ContractGroup, help="Validate, convert, version and diff data contracts.", no_args_is_help=True
)

FORMATS = ("odcs-3.0.2", "odcs-3.1.0", "odcs-3.2.0", "dativo")


@contract_app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(..., help="Contract files (dativo format or ODCS v3.x)."),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as errors."),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON."),
) -> None:
    """Validate contracts against the official ODCS schema and dativo's rules (exit 1 if any is invalid)."""
    results: list[dict[str, Any]] = []
    for path in paths:
        _, report = validate_file(path, strict=strict)
        results.append(
            {
                "path": str(path),
                "valid": report.is_valid,
                "errors": [i.to_dict() for i in report.errors],
                "warnings": [i.to_dict() for i in report.warnings],
            }
        )
    if as_json:
        print_json(results if len(results) > 1 else results[0])
    else:
        for result in results:
            _print_result(result)
    if not all(r["valid"] for r in results):
        raise typer.Exit(1)


def _print_result(result: dict[str, Any]) -> None:
    counts = f"{len(result['errors'])} error(s), {len(result['warnings'])} warning(s)"
    mark = "[green]valid[/]" if result["valid"] else "[red]invalid[/]"
    console.print(f"{esc(result['path'])}: {mark} ({counts})", highlight=False)
    for severity in ("errors", "warnings"):
        for issue in result[severity]:
            where = f"{result['path']}:{issue['line']}" if issue.get("line") else result["path"]
            label = "[red]error[/]" if severity == "errors" else "[yellow]warning[/]"
            path = f" {issue['path']}:" if issue.get("path") else ""
            console.print(
                f"  {esc(where)}: {label}{esc(path)} {esc(issue['message'])}", highlight=False, soft_wrap=True
            )


@contract_app.command("convert")
def convert(
    path: Path = typer.Argument(..., help="Contract file to convert."),
    to: str = typer.Option("odcs-3.0.2", "--to", help=f"Target format: {', '.join(FORMATS)}."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
) -> None:
    """Convert a contract to official ODCS (v3.0.2, v3.1.0 or v3.2.0) or to the dativo authoring format."""
    if to not in FORMATS:
        raise UsageError(f"--to must be one of {', '.join(FORMATS)}, got '{to}'")
    asset = AssetDefinition.from_yaml(path)
    document = asset.to_dict() if to == "dativo" else asset.to_odcs(api_version="v" + to.split("-", 1)[1])
    text = dumps(document)
    if out is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(out, text)
        console.print(f"wrote {esc(out)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(contract_app, name="contract")
