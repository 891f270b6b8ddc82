"""``dativo dbt generate|import-manifest``: contracts to a dbt project, and a dbt manifest into lineage."""

from __future__ import annotations

from pathlib import Path

import typer

from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.dbt.catalog import catalog_of_job
from dativo_ingest.dbt.manifest import load_manifest, record_lineage
from dativo_ingest.dbt.options import DEFAULT_RESTRICTED, GenerationOptions
from dativo_ingest.dbt.project import ProjectConfig
from dativo_ingest.dbt.workspace import generate_workspace_project
from dativo_ingest.lineage_graph.tracker import LineageTracker
from dativo_ingest.workspace import Workspace

dbt_app = typer.Typer(
    help="Generate dbt projects from contracts and import dbt manifests.", no_args_is_help=True
)


@dbt_app.command("generate")
def generate(
    specs: Path = typer.Option(
        None, "--specs", help="Contract registry folder (default: <workspace>/specs)."
    ),
    out: Path = typer.Option(None, "--out", help="dbt project folder (default: <workspace>/dbt)."),
    project_name: str = typer.Option("dativo", "--project-name", help="dbt project (and profile) name."),
    adapter: str = typer.Option(
        "duckdb",
        "--adapter",
        help="duckdb, postgres, snowflake, bigquery, databricks, "
        "spark or trino (a profile is written for duckdb only).",
    ),
    source_input: str = typer.Option(
        "iceberg", "--input", help="Raw tables from: iceberg, parquet or duckdb."
    ),
    warehouse: Path = typer.Option(
        None, "--warehouse", help="Local warehouse (default: <workspace>/warehouse)."
    ),
    catalog_from: Path = typer.Option(
        None,
        "--catalog-from",
        help="Job file whose target.catalog the profile reads (a shared catalog, e.g. PostgreSQL + S3).",
    ),
    exposures: Path = typer.Option(None, "--exposures", help="YAML file with an 'exposures:' list."),
    masking: str = typer.Option(
        "hash", "--masking", help="Masking of restricted columns: hash, redact or null."
    ),
    restricted: list[str] = typer.Option(
        None, "--restricted", help="Restricted classification (repeatable; default PII and SENSITIVE)."
    ),
    materialized: str = typer.Option("table", "--materialized", help="Staging models as table or view."),
    legacy: bool = typer.Option(False, "--legacy", help="Write pre-1.10 dbt YAML (tests:, top-level meta)."),
    strict: bool = typer.Option(
        False, "--strict", help="Fail when a retention/consent column is not declared."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Build a runnable dbt project for the latest version of every registered contract."""
    options = GenerationOptions(
        adapter=adapter,
        restricted_classifications=tuple(restricted or DEFAULT_RESTRICTED),
        masking=masking,
        materialized=materialized,
        style="legacy" if legacy else "current",
        strict=strict,
    )
    catalog = catalog_of_job(catalog_from) if catalog_from is not None else ()
    config = ProjectConfig(
        project_name=project_name, input=source_input, warehouse=warehouse, catalog=catalog
    )
    result = generate_workspace_project(
        Workspace.current(), specs_dir=specs, out_dir=out, exposures=exposures, config=config, options=options
    )
    if as_json:
        print_json(result.summary())
        return
    console.print(
        f"dbt project at {esc(result.out_dir)}: {result.contracts} contract(s), "
        f"{len(result.written)} file(s) written, "
        f"{len(result.unchanged)} unchanged, {len(result.removed)} removed",
        highlight=False,
        soft_wrap=True,
    )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {esc(warning)}", highlight=False, soft_wrap=True)


@dbt_app.command("import-manifest")
def import_manifest(
    manifest: Path = typer.Argument(
        ..., help="dbt target/manifest.json (after dbt parse, compile or build)."
    ),
    catalog: Path = typer.Option(
        None, "--catalog", help="dbt target/catalog.json (dbt docs generate): every relation's columns."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Record dbt sources, seeds, models, snapshots, exposures, dependencies and the columns each model
    reads in lineage."""
    graph = load_manifest(manifest, catalog=catalog)
    recorded = record_lineage(graph, LineageTracker())
    summary = {**graph.summary(), "recorded": recorded}
    if as_json:
        print_json(summary)
        return
    console.print(
        f"imported {esc(manifest)}: {summary['sources']} source(s), {summary['models']} model(s), "
        f"{summary['exposures']} exposure(s), {recorded['edges']} edge(s), "
        f"{recorded['column_reads']} column read(s)",
        highlight=False,
        soft_wrap=True,
    )
    for warning in graph.warnings:
        console.print(f"[yellow]warning:[/] {esc(warning)}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(dbt_app, name="dbt")
