"""Contract-governed ingestion (``dativo run``): job config, sources, validation, targets and the run.

    from dativo_ingest.ingest import load_job, run_job
    result = run_job(load_job("jobs/stripe_customers.yaml"))
    result.rows_written, result.rows_quarantined, result.snapshot_id

Sources (``source.type``): csv, jsonl, parquet, postgres, mysql, http. Targets: iceberg (default), parquet.

The names above load their modules on first use, so importing one small module of this package
(``ingest.envsubst``, say) does not load the whole run (pyarrow, pyiceberg, every source).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dativo_ingest.ingest.jobconfig import JobConfig, load_job
    from dativo_ingest.ingest.runner import RunResult, load_asset, run_job

_EXPORTS = {
    "JobConfig": "jobconfig",
    "load_job": "jobconfig",
    "RunResult": "runner",
    "load_asset": "runner",
    "run_job": "runner",
}

__all__ = ["JobConfig", "RunResult", "load_asset", "load_job", "run_job"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dativo_ingest.ingest import jobconfig, runner

    return getattr(jobconfig if module == "jobconfig" else runner, name)
