"""Contract-governed ingestion (``dativo run``): job config, sources, validation, targets and the run.

    from dativo_ingest.ingest import load_job, run_job
    result = run_job(load_job("jobs/stripe_customers.yaml"))
    result.rows_written, result.rows_quarantined, result.snapshot_id

Sources (``source.type``): csv, jsonl, parquet, postgres, mysql, http. Targets: iceberg (default), parquet.

The names below load on first use: importing a part (``ingest.rules``, ``ingest.validation``,
``ingest.sources``) to validate without running a job does not load the run's store, registry, dbt,
lineage and FinOps machinery (about 85 MB of memory).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dativo_ingest.ingest.jobconfig import JobConfig, load_job
    from dativo_ingest.ingest.runner import RunResult, load_asset, run_job

__all__ = ["JobConfig", "RunResult", "load_asset", "load_job", "run_job"]


def __getattr__(name: str) -> Any:
    if name in ("JobConfig", "load_job"):
        from dativo_ingest.ingest import jobconfig

        return getattr(jobconfig, name)
    if name in ("RunResult", "load_asset", "run_job"):
        from dativo_ingest.ingest import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
