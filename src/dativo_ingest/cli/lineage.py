"""``dativo lineage show|impact|export|runs``: query the persisted lineage graph and export it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.errors import UsageError
from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.lineage import LineageTracker

lineage_app = typer.Typer(help="Query and export the lineage graph.", no_args_is_help=True)

FORMATS = ("openlineage", "mermaid", "dot")


def _tracker() -> LineageTracker:
    return LineageTracker()


@lineage_app.command("show")
def show(
    node: str = typer.Argument(..., help="Node id, e.g. source://stripe/customers."),
    upstream: bool = typer.Option(False, "--upstream", help="Only what NODE depends on."),
    downstream: bool = typer.Option(False, "--downstream", help="Only what depends on NODE."),
    depth: int = typer.Option(10, "--depth", min=0, help="Maximum number of hops."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the nodes upstream and/or downstream of NODE."""
    if upstream and downstream:
        raise UsageError("choose --upstream or --downstream, not both", field="--upstream")
    tracker = _tracker()
    directions = ["upstream"] if upstream else ["downstream"] if downstream else ["upstream", "downstream"]
    result: dict[str, Any] = {"node": node}
    for direction in directions:
        walk = tracker.get_upstream_lineage if direction == "upstream" else tracker.get_downstream_lineage
        result[direction] = walk(node, max_depth=depth)
    if as_json:
        print_json(result)
        return
    for direction in directions:
        rows = result[direction]
        console.print(f"[bold]{direction}[/] of {esc(node)}: {len(rows)} node(s)", highlight=False)
        for row in rows:
            edge = row["edge"]
            console.print(
                f"  {row['depth']}. {esc(row['node']['id'])} [dim]({esc(row['node']['type'])}, "
                f"via {esc(edge['type'])})[/]",
                highlight=False,
                soft_wrap=True,
            )


@lineage_app.command("impact")
def impact(
    source: str = typer.Argument(..., help="Source type, e.g. stripe."),
    obj: str = typer.Argument(..., metavar="OBJECT", help="Source object, e.g. customers."),
    field: str | None = typer.Argument(None, help="Column; omit for the whole object."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List every dbt model and exposure that depends on SOURCE OBJECT (or its FIELD)."""
    rows = _tracker().impact(source, obj, field)
    if as_json:
        print_json(rows)
        return
    what = f"{source}/{obj}" + (f".{field}" if field else "")
    console.print(f"[bold]{len(rows)}[/] consumer(s) of {esc(what)}", highlight=False)
    for row in rows:
        cols = f" columns: {', '.join(row['columns'])}" if row["columns"] else ""
        console.print(
            f"  {esc(row['node']['type']):<9} {esc(row['node']['id'])} "
            f"[dim](depth {row['depth']}){esc(cols)}[/]",
            highlight=False,
        )


@lineage_app.command("export")
def export(
    fmt: str = typer.Option("openlineage", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    node: str | None = typer.Option(None, "--node", help="Mermaid/DOT: only NODE and its lineage."),
    depth: int = typer.Option(10, "--depth", min=0, help="Mermaid/DOT with --node: hops each way."),
    run_id: str | None = typer.Option(None, "--run", help="OpenLineage: this run (default: newest)."),
    job: str | None = typer.Option(None, "--job", help="OpenLineage: newest run of this job."),
    emit: bool = typer.Option(
        False, "--emit", help="OpenLineage: also send it via the configured transport."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Export the graph as Mermaid or DOT, or a recorded run as a spec-valid OpenLineage RunEvent."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}", field="--format")
    tracker = _tracker()
    if fmt == "openlineage":
        event = tracker.emit(run_id, job) if emit else tracker.run_event(run_id, job)
        text = json.dumps(event, indent=2, sort_keys=True) + "\n"
    elif fmt == "mermaid":
        text = tracker.to_mermaid(node, depth)
    else:
        text = tracker.to_dot(node, depth)
    if out is not None:
        atomic_write_text(out, text)
        console.print(f"wrote {esc(out)}", highlight=False)
    else:
        typer.echo(text, nl=False)


@lineage_app.command("runs")
def runs(
    job: str | None = typer.Option(None, "--job", help="Only runs of this job."),
    limit: int = typer.Option(20, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List recorded runs, newest first."""
    rows = _tracker().runs(job, limit)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        job = f"{row['tenant_id']}/{row['job_name']}"
        console.print(
            esc(f"{row['timestamp']}  {row['run_id']}  {row['event_type']:<8} {job}"), highlight=False
        )


def register(app: typer.Typer) -> None:
    app.add_typer(lineage_app, name="lineage")
