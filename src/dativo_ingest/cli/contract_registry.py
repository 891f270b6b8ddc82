"""``dativo contract save|diff|history``: the versioned registry (the CI gate is ``contract_gate``).

:class:`dativo_ingest.cli.contract.ContractGroup` imports this module when one of these commands runs.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

import typer

from dativo_ingest.changes import classify
from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.contracts import ContractManager, suggested_version
from dativo_ingest.errors import ContractNotFoundError, UsageError
from dativo_ingest.registry import ContractRegistry
from dativo_ingest.registry.loading import load_contract, load_pair
from dativo_ingest.workspace import Workspace

SPECS_HELP = "Registry directory (default: the workspace's specs/)."
PERSPECTIVE_HELP = "spec (the spec's bump rules), consumer or producer."
LINEAGE_HELP = "Ask the lineage store which dbt models read a removed column (unused optional: MINOR)."
STYLE = {"major": "red", "minor": "yellow", "patch": "cyan", "none": "dim"}


def _specs(specs: Path | None) -> Path:
    if specs is not None:
        return specs
    return Workspace.current().specs


def _usage(lineage: bool) -> Any:
    if not lineage:
        return None
    # The one import left inside a function: the lineage store (SQLAlchemy) is needed only with
    # --lineage, and importing it for every contract command would add about a third of a second to
    # `dativo contract diff` (benchmarks/bench_contract_diff.py times the whole process).
    from dativo_ingest.lineage import StoreUsageSource

    return StoreUsageSource()


def _author(author: str | None) -> str:
    if author:
        return author
    return os.environ.get("DATIVO_AUTHOR") or getpass.getuser()


def save(
    path: Path = typer.Argument(..., help="Contract file to save as a new version."),
    author: str | None = typer.Option(
        None, "--author", help="Who saves it (default: $DATIVO_AUTHOR or user)."
    ),
    force: bool = typer.Option(False, "--force", help="Save even when the version bump is too small."),
    specs: Path | None = typer.Option(None, "--specs", help=SPECS_HELP),
    lineage: bool = typer.Option(False, "--lineage", help=LINEAGE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the saved version as JSON."),
) -> None:
    """Save a contract into the registry; refuse a version bump smaller than its changes need."""
    manager = ContractManager(specs_dir=_specs(specs), usage=_usage(lineage))
    saved = manager.save_contract(load_contract(path), author=_author(author), force=force)
    if as_json:
        print_json(saved.to_dict())
        return
    name = f"{saved.source_type}/{saved.object} {saved.version}"
    if saved.unchanged:
        console.print(f"{esc(name)}: unchanged (identical to the saved version)", highlight=False)
        return
    forced = f" [red]forced[/] (needed >= {esc(saved.required_version)})" if saved.forced else ""
    console.print(f"saved {esc(name)} ({saved.change_type}){forced} -> {esc(saved.path)}", highlight=False)
    _print_changes(saved.changes)


def diff(
    old: str = typer.Argument(..., help="Old contract: a file, or SOURCE/OBJECT[@VERSION] in the registry."),
    new: str = typer.Argument(..., help="New contract: a file, or SOURCE/OBJECT[@VERSION] in the registry."),
    perspective: str = typer.Option("spec", "--perspective", help=PERSPECTIVE_HELP),
    specs: Path | None = typer.Option(None, "--specs", help=SPECS_HELP),
    lineage: bool = typer.Option(False, "--lineage", help=LINEAGE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """Classify the changes between two contract versions and the version bump they need."""
    old_asset, new_asset = load_pair(_resolve(old, specs), _resolve(new, specs))
    result = classify(old_asset, new_asset, perspective=perspective, usage=_usage(lineage))
    data = result.to_dict()
    data["suggested_version"] = suggested_version(old_asset.version, result)
    if as_json:
        print_json(data)
        return
    label = STYLE[result.severity.label]
    console.print(
        f"{esc(old_asset.version)} -> {esc(new_asset.version)}: [{label}]{result.change_type}[/] "
        f"({len(result.changes)} change(s), perspective {esc(perspective)}); "
        f"suggested version {esc(data['suggested_version'])}",
        highlight=False,
    )
    _print_changes(result.changes)


def _resolve(ref: str, specs: Path | None) -> Path:
    """A file path, or the stored file of a registry reference ``SOURCE/OBJECT[@VERSION]``."""
    candidate = Path(ref)
    if candidate.is_file():
        return candidate
    name, _, version = ref.partition("@")
    source, _, obj = name.partition("/")
    if not source or not obj or "/" in obj:
        raise UsageError(
            f"'{ref}' is neither a file nor a registry reference (SOURCE/OBJECT or SOURCE/OBJECT@VERSION)"
        )
    registry = ContractRegistry(_specs(specs))
    entry = registry.find(source, obj, version or None)
    snapshot = registry.layout(source, obj).snapshot(entry.version)
    # registry entries always carry their file; a bare entry means its version's default place
    file = entry.path or registry.layout(source, obj).contract_file(entry.version)
    return snapshot if snapshot.is_file() else file


def history(
    source_type: str = typer.Argument(..., help="Source type, e.g. stripe."),
    object_name: str = typer.Argument(..., help="Object, e.g. customers."),
    specs: Path | None = typer.Option(None, "--specs", help=SPECS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the history as JSON."),
) -> None:
    """The saved versions of a contract, newest first, with author, time and change type."""
    entries = ContractManager(specs_dir=_specs(specs)).get_contract_history(source_type, object_name)
    if not entries:
        raise ContractNotFoundError(f"no contract {source_type}/{object_name} in the registry")
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    for entry in entries:
        forced = " [red]forced[/]" if entry.forced else ""
        row = (
            f"{entry.version:<10} {entry.change_type:<13} {entry.timestamp or '-':<30} {entry.author or '-'}"
        )
        console.print(f"{esc(row)}  ({len(entry.changes)} change(s)){forced}", highlight=False)


def _print_changes(changes: list[Any], limit: int = 200) -> None:
    ordered = sorted(changes, key=lambda c: (-c.severity, c.path))
    for change in ordered[:limit]:
        label = change.severity.label
        console.print(
            f"  [{STYLE[label]}]{label.upper():<5}[/] {esc(change.path)}: {esc(change.message)}",
            highlight=False,
        )
    if len(ordered) > limit:
        console.print(f"  ... and {len(ordered) - limit} more (use --json for all)", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("save")(save)
    app.command("diff")(diff)
    app.command("history")(history)
