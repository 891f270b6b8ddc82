"""``dativo demo [DIR]``: create a sample workspace, ingest it, build dbt, show lineage and cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.demo import run_demo


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    directory: Path = typer.Argument(
        Path("demo"), help="Folder to create the demo workspace in (empty or new)."
    ),
    no_dbt: bool = typer.Option(
        False,
        "--no-dbt",
        help="Generate the dbt project but run only dbt parse (for lineage), not dbt build.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the demo report as JSON."),
) -> None:
    """The first command to run: a complete, offline tour of dativo in a new folder."""
    report = run_demo(directory, dbt=not no_dbt, say=None if as_json else _say)
    if as_json:
        print_json(report)
        return
    root = report["workspace"]
    console.print("\n[bold]Next:[/] explore it, then serve the metadata to AI agents:", highlight=False)
    for line in (
        f"cd {root}",
        "dativo run --job-dir jobs      # re-run: only new rows (cursor), nothing duplicated",
        "dativo lineage impact stripe customers email   # what a change to a column would touch",
        "dativo finops --help          # costs per tenant and job",
        "dativo keys create demo-analyst --label demo   # prints an API key once",
        "dativo serve                  # HTTP context API on http://127.0.0.1:8000",
        "curl -H 'Authorization: Bearer <the key>' http://127.0.0.1:8000/v1/assets/stripe/customers",
    ):
        console.print(f"  {line}", highlight=False, markup=False)


def _say(step: str, data: Any) -> None:
    if step == "workspace":
        console.print(
            f"[bold]Workspace[/] {esc(data['root'])}: contracts in assets/, jobs in jobs/, data in data/, "
            "dashboards in exposures.yaml",
            highlight=False,
        )
    elif step == "run":
        console.print(
            f"[bold]Ingested[/] {esc(data['job_name'])}: {data['rows_read']} read, "
            f"[green]{data['rows_written']} "
            f"written[/] to {esc(data['target'])}, [yellow]{data['rows_quarantined']} quarantined[/]"
            + (
                f" ({esc(', '.join(f'{k}={v}' for k, v in data['rule_failures'].items()))})"
                if data["rule_failures"]
                else ""
            ),
            highlight=False,
        )
        for warning in data.get("warnings", []):
            console.print(f"  [dim]note: {esc(warning)}[/]", highlight=False)
    elif step == "dbt":
        generated = data.get("generated", {})
        parse = f", parse {data['parse']}" if data.get("parse") else ""
        console.print(
            f"[bold]dbt[/] project generated ({generated.get('written', 0)} files) -> build "
            f"{esc(data.get('build'))}"
            + (f": {esc(data['summary'])}" if data.get("summary") else "")
            + esc(parse),
            highlight=False,
        )
        imported = data.get("lineage")
        if isinstance(imported, dict):
            console.print(
                f"  manifest imported into lineage: {imported['models']} model(s), {imported['exposures']} "
                f"exposure(s), {imported['targets_linked']} Iceberg table(s) linked to dbt sources",
                highlight=False,
            )
        elif imported:
            console.print(f"  dbt manifest {imported}", highlight=False, markup=False)
    elif step == "lineage":
        console.print("[bold]Lineage[/]", highlight=False)
        for path in data:
            console.print(f"  {path}", highlight=False, markup=False)
    elif step == "cost":
        console.print(
            "[bold]Cost[/] (measured CPU, memory and bytes, priced): "
            + ", ".join(
                f"{esc(job)} ${cost:.6f}" if isinstance(cost, int | float) else f"{esc(job)} -"
                for job, cost in data.items()
            ),
            highlight=False,
        )
