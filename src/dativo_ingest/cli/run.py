"""``dativo run``: run one job (``--config job.yaml``) or every job in a folder (``--job-dir jobs/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from dativo_ingest.cli.app import console, err_console, esc, print_json
from dativo_ingest.errors import DativoError, UsageError
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.logging import redact_text


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    config: Path = typer.Option(None, "--config", "-c", help="Job config YAML file."),
    job_dir: Path = typer.Option(None, "--job-dir", help="Run every *.yaml job in this folder (sorted)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run result(s) as JSON."),
    run_key: str = typer.Option(None, "--run-key", help="Idempotency key (default: derived from the input)."),
    engine: str = typer.Option(
        None, "--engine", help="local | ray: where the work runs (overrides the job's engine.type)."
    ),
    address: str = typer.Option(
        None, "--ray-address", help="Ray cluster: auto, local, host:port or ray://host:port."
    ),
) -> None:
    """Ingest through the contract: validate, quarantine, commit once to Iceberg, record lineage and cost."""
    if (config is None) == (job_dir is None):
        raise UsageError("give exactly one of --config or --job-dir", field="--config")
    if job_dir is not None:
        if not job_dir.is_dir():
            raise UsageError("job folder not found", path=job_dir, field="--job-dir")
        paths = sorted(p for p in job_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not paths:
            raise UsageError("no *.yaml job in folder", path=job_dir, field="--job-dir")
    else:
        paths = [config]
    results: list[dict[str, Any]] = []
    failed = 0
    for path in paths:
        job = None
        try:
            job = _with_engine(load_job(path), engine, address)
            with _progress(job.name, enabled=not as_json) as progress:
                result = run_job(job, progress=progress, run_key=run_key if config else None).to_dict()
        except DativoError as exc:
            failed += 1
            name = job.name if job is not None else path.stem
            error = redact_text(str(exc))
            result = {"job_name": name, "config": str(path), "status": "failed", "error": error}
            if config is not None:
                if as_json:
                    print_json(result)
                raise
        result["config"] = str(path)
        results.append(result)
        if not as_json:
            _summary(result)
    if as_json:
        print_json(results[0] if config is not None else {"runs": results, "failed": failed})
    if failed:
        raise typer.Exit(1)


def _with_engine(job: Any, engine: str | None, address: str | None) -> Any:
    """``job`` with ``--engine`` / ``--ray-address`` applied."""
    if engine is None and address is None:
        return job
    if engine not in (None, "local", "ray"):
        raise UsageError(f"unknown engine {engine!r} (local or ray)", field="--engine")
    changes: dict[str, Any] = {"type": engine} if engine else {}
    if address:
        changes["address"] = address
    return job.model_copy(update={"engine": job.engine.model_copy(update=changes)})


class _progress:
    """A rich live line (rows read, quarantined) while a run streams; silent when not a terminal."""

    def __init__(self, name: str, enabled: bool) -> None:
        self.name = esc(name)
        self.enabled = enabled and err_console.is_terminal
        self._progress: Any = None

    def __enter__(self):
        if not self.enabled:
            return None
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self._progress.start()
        task = self._progress.add_task(f"{self.name}: starting")

        def update(rows: int, quarantined: int) -> None:
            self._progress.update(
                task, description=f"{self.name}: {rows:,} rows read, {quarantined:,} quarantined"
            )

        return update

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def _summary(result: dict[str, Any]) -> None:
    status = result.get("status")
    colour = {"success": "green", "skipped": "yellow"}.get(str(status), "red")
    earlier = " (committed run)" if status == "skipped" else ""  # a skipped run reports what already landed
    table = Table(
        title=f"{esc(result.get('job_name'))} [{colour}]{esc(status)}[/]",
        show_header=False,
        title_justify="left",
    )
    table.add_column("", style="bold")
    table.add_column("")
    if status == "failed" and "run_id" not in result:
        table.add_row("error", esc(result.get("error")))
        console.print(table)
        return
    cost = result.get("cost_usd")
    rows = [
        ("target", result.get("target")),
        ("rows read" + earlier, f"{result.get('rows_read', 0):,}"),
        ("rows written" + earlier, f"{result.get('rows_written', 0):,}"),
        (
            "rows quarantined" + earlier,
            f"{result.get('rows_quarantined', 0):,}"
            + (
                f"  -> {result['quarantine_table']}"
                if result.get("rows_quarantined") and result.get("quarantine_table")
                else ""
            ),
        ),
        ("failed rules", ", ".join(f"{k}={v}" for k, v in result.get("rule_failures", {}).items()) or "-"),
        ("duration", f"{result.get('duration_seconds', 0):.2f} s"),
        ("cost", f"${cost:.6f}" if isinstance(cost, int | float) else "-"),
        ("contract", f"{result['contract'].get('id')} v{result['contract'].get('version')}"),
        ("snapshot", str(result.get("snapshot_id") or "-")),
        ("lineage run", str(result.get("lineage_run_id") or "-")),
    ]
    if result.get("cursor") is not None:
        rows.append(("cursor", str(result["cursor"])))
    for change in result.get("schema_changes", []):
        rows.append(("schema", change))
    for warning in result.get("warnings", []):
        rows.append(("warning", warning))
    for key, value in rows:
        table.add_row(key, esc(value))
    console.print(table)
