"""``dativo contract import``: contracts from existing tables, files, DDL and dbt projects.

:class:`dativo_ingest.cli.contract.ContractGroup` imports this module when the command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from dativo_ingest.cli.app import console, err_console, esc, print_json
from dativo_ingest.errors import ContractImportError, DativoError
from dativo_ingest.importers import (
    DEFAULT_SAMPLE_ROWS,
    FORMATS,
    IMPORTERS,
    ImportRequest,
    import_contracts,
    render,
    write,
)
from dativo_ingest.odcs.quality import contract_checks

KINDS = "|".join(IMPORTERS)


def import_(
    source: str = typer.Argument(
        ...,
        help="SQLAlchemy URL (${ENV} allowed), Iceberg warehouse or catalog file, file or folder, DDL file, "
        "dbt manifest.json or project.",
    ),
    kind: str = typer.Option(..., "--from", help=f"What SOURCE is: {KINDS}."),
    tables: list[str] = typer.Option([], "--table", help="Import this table (repeatable; default: all)."),
    schema: str | None = typer.Option(None, "--schema", help="Database schema or Iceberg namespace."),
    include: list[str] = typer.Option([], "--include", help="Only tables matching this glob (repeatable)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Skip tables matching this glob (repeatable)."),
    fmt: str = typer.Option("dativo", "--format", help=f"Output format: {', '.join(FORMATS)}."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write one file per table here (default: stdout)."
    ),
    dialect: str | None = typer.Option(
        None, "--dialect", help="SQL dialect of a DDL file (postgres, mysql, ...)."
    ),
    sample_rows: int = typer.Option(
        DEFAULT_SAMPLE_ROWS, "--sample-rows", help="Rows read to infer and profile."
    ),
    profile: bool = typer.Option(False, "--profile", help="Propose checks from a sample (dativo.proposed)."),
    owner: str | None = typer.Option(None, "--owner", help="team.owner of the contracts (an email)."),
    catalog: str | None = typer.Option(
        None, "--catalog", help="dbt catalog.json (default: beside the manifest)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of text."),
) -> None:
    """Import contracts from databases, Iceberg, files, DDL or dbt: one per table, all or nothing."""
    request = ImportRequest(
        kind=kind,
        source=source,
        tables=tuple(tables),
        schema=schema,
        include=tuple(include),
        exclude=tuple(exclude),
        dialect=dialect,
        sample_rows=sample_rows,
        profile=profile,
        owner=owner,
        catalog=catalog,
    )
    try:
        imported = import_contracts(request)
        rendered = render(imported, fmt, out or Path("."))
        if out is not None:
            write(rendered)
    except ContractImportError:
        raise
    except DativoError as exc:  # anything a source or a library refused: one line, exit 2
        raise ContractImportError(str(exc)) from exc
    if as_json:
        print_json([_summary(r.path, r.imported, out is not None) for r in rendered])
        return
    if owner is None and out is not None:
        err_console.print(
            "[yellow]warning:[/] no --owner: `dativo contract save` needs team.owner in each contract",
            highlight=False,
        )
    for item in rendered:
        for warning in item.imported.warnings:
            err_console.print(f"[yellow]warning:[/] {esc(warning)}", highlight=False)
        if out is None:
            typer.echo(("---\n" if len(rendered) > 1 else "") + item.text, nl=False)
            continue
        checks = len(contract_checks(item.imported.asset))
        fields = len(item.imported.asset.fields)
        console.print(f"wrote {esc(item.path)} ({fields} fields, {checks} checks)", highlight=False)
        for proposal in item.imported.proposals:
            console.print(f"  [cyan]proposed[/] {esc(_proposal_text(proposal))}", highlight=False)


def _proposal_text(proposal: dict[str, Any]) -> str:
    details = {k: v for k, v in proposal.items() if k not in ("column", "check", "evidence")}
    extra = f" {json.dumps(details, default=str)}" if details else ""
    return f"{proposal['column']}: {proposal['check']}{extra} (evidence {json.dumps(proposal['evidence'])})"


def _summary(path: Path, imported: Any, written: bool) -> dict[str, Any]:
    return {
        "path": str(path) if written else None,
        "id": imported.asset.id,
        "object": imported.asset.object_name,
        "fields": len(imported.asset.fields),
        "checks": len(contract_checks(imported.asset)),
        "proposals": imported.proposals,
        "warnings": imported.warnings,
    }


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
