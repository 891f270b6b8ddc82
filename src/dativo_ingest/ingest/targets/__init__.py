"""Target registry: ``iceberg`` (default) and ``parquet``."""

from __future__ import annotations

from pathlib import Path

from dativo_ingest.errors import ConfigError
from dativo_ingest.ingest.jobconfig import JobConfig
from dativo_ingest.ingest.targets.base import RUN_KEY, CommitInfo, Target, TargetDataset
from dativo_ingest.ingest.targets.iceberg import IcebergTarget
from dativo_ingest.ingest.targets.parquet import ParquetTarget


def build_target(job: JobConfig, warehouse: Path, table: str) -> Target:
    """The target a job writes to (Iceberg in ``warehouse`` by default)."""
    config = job.target
    if config.type == "parquet":
        if config.path is None:  # JobConfig refuses such a job; kept for the types
            raise ConfigError("a parquet target needs 'path'", path=job.config_path, field="target.path")
        return ParquetTarget(job.resolve(config.path).resolve())  # normalised: one lineage id per folder
    return IcebergTarget(
        config.catalog, warehouse, config.namespace, table, config.quarantine_table, config.file_size_mb
    )


__all__ = ["RUN_KEY", "CommitInfo", "Target", "TargetDataset", "build_target"]
