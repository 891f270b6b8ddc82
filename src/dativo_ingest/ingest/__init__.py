"""Contract-governed ingestion (``dativo run``): job config, sources, validation, targets and the run.

    from dativo_ingest.ingest import load_job, run_job
    result = run_job(load_job("jobs/stripe_customers.yaml"))
    result.rows_written, result.rows_quarantined, result.snapshot_id

Sources (``source.type``): csv, jsonl, parquet, postgres, mysql, http. Targets: iceberg (default), parquet.
"""

from dativo_ingest.ingest.jobconfig import JobConfig, load_job
from dativo_ingest.ingest.runner import RunResult, load_asset, run_job

__all__ = ["JobConfig", "RunResult", "load_asset", "load_job", "run_job"]
