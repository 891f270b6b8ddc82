"""Run real dbt in-process (dbtRunner) with dbt's strict YAML checks on, collecting deprecation events."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DbtRun:
    """Outcome of one dbt invocation: success, per-node statuses and deprecation events seen."""

    success: bool
    exception: BaseException | None
    statuses: dict[str, str] = field(default_factory=dict)
    deprecations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def failed(self) -> set[str]:
        return {uid for uid, status in self.statuses.items() if status in ("fail", "error")}


def _reset_duckdb_environment() -> None:
    """dbt-duckdb caches one DuckDB environment (with its plugins) per process; start each project afresh."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    if DuckDBConnectionManager._ENV is not None:
        DuckDBConnectionManager.close_all_connections()
        DuckDBConnectionManager._ENV = None


def run_dbt(project: Path, *args: str) -> DbtRun:
    """``dbt <args>`` on ``project`` (profiles.yml inside it) with strict YAML schema validation."""
    import dbt.jsonschemas.jsonschemas as jsonschemas
    from dbt.cli.main import dbtRunner

    from dbt import deprecations

    _reset_duckdb_environment()
    deprecations.reset_deprecations()  # dbt counts deprecations per process; count this run's only
    events: list[Any] = []
    original = jsonschemas._can_run_validations
    jsonschemas._can_run_validations = lambda: True  # lint YAML as dbt does for cloud adapters
    try:
        result = dbtRunner(callbacks=[events.append]).invoke(
            [
                *args,
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--no-partial-parse",
                "--show-all-deprecations",
                "--no-use-colors",
            ]
        )
    finally:
        jsonschemas._can_run_validations = original
    run = DbtRun(result.success, result.exception)
    for event in events:
        name = event.info.name
        if name.endswith("Deprecation") or name == "DeprecationsSummary":
            run.deprecations.append(f"{name}: {event.info.msg}")
        elif event.info.level in ("warn", "error"):
            run.warnings.append(f"{name}: {event.info.msg}")
    for item in getattr(result.result, "results", None) or []:
        run.statuses[item.node.unique_id] = str(item.status)
    return run
