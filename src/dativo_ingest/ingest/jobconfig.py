"""The job config: one YAML file describing one ingestion run.

```yaml
tenant_id: acme
name: stripe-customers-ingest
asset: ../assets/stripe/v1.0/customers.yaml     # a contract file, or {source_type, object, version}
source: {type: csv, path: "../data/customers/*.csv"}
target: {type: iceberg, namespace: bronze, table: stripe_customers}
validation: {mode: warn}                           # strict: any bad row aborts, nothing is committed
incremental: {cursor_field: created_at}            # optional
finops: {cost_center: analytics}
```

Relative paths resolve against the job file's folder. ``${ENV_VAR}`` references are substituted (see
:mod:`dativo_ingest.ingest.envsubst`). Errors name the file, the field and its line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dativo_ingest.config_errors import config_error
from dativo_ingest.errors import ConfigError
from dativo_ingest.ingest.envsubst import substitute
from dativo_ingest.ingest.sources import validate_source_options
from dativo_ingest.logging import redact_text
from dativo_ingest.notifications.config import check_section
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.yamlio import line_of, load_file, loads

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_WAREHOUSE_SCHEMES = ("file", "s3", "s3a", "gs", "abfs", "abfss")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AssetRef(_Model):
    """Where the contract comes from: a file, or the registry (source_type/object/version)."""

    path: str | None = None
    source_type: str | None = None
    object: str | None = None
    version: str | None = None


class SourceConfig(BaseModel):
    """``type`` picks the source class; every other key is that source's option (checked by it)."""

    model_config = ConfigDict(extra="allow")

    type: str

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class S3Config(_Model):
    """S3-compatible object storage of an ``s3://`` warehouse (keys usually ``${ENV}`` references;
    without keys the standard AWS credential chain applies)."""

    endpoint: str | None = None  # e.g. http://127.0.0.1:9000 for MinIO; AWS when unset
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    path_style: bool | None = None  # bucket in the path (MinIO, moto) rather than the host name

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"{_hide(value)!r} is not an http(s) URL")
        return value


class CatalogConfig(_Model):
    """Iceberg catalog: ``sql`` (SQLite in the workspace by default, or a shared database such as
    PostgreSQL by ``uri``) or ``rest`` (by URI); the warehouse on local disk or ``s3://``."""

    type: Literal["sql", "rest"] = "sql"
    name: str = "dativo"
    uri: str | None = None
    warehouse: str | None = None
    s3: S3Config | None = None
    properties: dict[str, str] = Field(default_factory=dict)

    @field_validator("warehouse")
    @classmethod
    def _warehouse(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in _WAREHOUSE_SCHEMES:
            raise ValueError(
                f"{_hide(value)!r} is not a warehouse location (file://, s3://, gs:// or abfs:// URL)"
            )
        return value

    @model_validator(mode="after")
    def _uri_fits_type(self) -> CatalogConfig:
        scheme = urlsplit(self.uri).scheme if self.uri else ""
        if self.type == "rest" and scheme not in ("http", "https"):
            raise ValueError("a rest catalog needs 'uri': the catalog's http(s) URL")
        if self.type == "sql" and self.uri and "://" not in self.uri:
            raise ValueError(
                f"uri {_hide(self.uri)!r} is not a database URL (postgresql://user@host/db, sqlite:///path)"
            )
        return self


class TargetConfig(_Model):
    """Iceberg table (namespace + table) or a Parquet folder (path)."""

    type: Literal["iceberg", "parquet"] = "iceberg"
    namespace: str = "bronze"
    table: str | None = None
    quarantine_table: str | None = None
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    path: str | None = None
    file_size_mb: int = Field(64, ge=1, le=4096)

    @field_validator("namespace", "table", "quarantine_table")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not _IDENT.match(value):
            raise ValueError(f"{value!r} is not a valid identifier (letters, digits, underscore)")
        return value


class ValidationConfig(_Model):
    """``warn`` commits valid rows and quarantines the rest; ``strict`` aborts on the first bad row."""

    mode: Literal["strict", "warn"] = "warn"
    unique_against_table: bool = False
    max_quarantine_ratio: float | None = Field(None, ge=0, le=1)


class IncrementalConfig(_Model):
    """Only rows whose ``cursor_field`` is greater than the last committed value are read."""

    cursor_field: str
    start: Any = None


class FinOpsConfig(_Model):
    enabled: bool = True
    cost_center: str | None = None


class LineageConfig(_Model):
    enabled: bool = True
    openlineage: dict[str, Any] | None = None


class DbtConfig(_Model):
    refresh: bool = False


class EngineConfig(_Model):
    """Where the run's work runs: ``local`` (this process) or ``ray`` (tasks on a Ray cluster, see
    :mod:`dativo_ingest.ingest.engines`)."""

    type: Literal["local", "ray"] = "local"
    #: ``auto`` (the cluster in ``RAY_ADDRESS``, else a new one on this machine for the run), ``local``
    #: (always a new one), ``host:port`` (a running cluster's head) or ``ray://host:port`` (Ray Client)
    address: str = "auto"
    parallelism: int | None = Field(None, ge=1, le=4096)  # tasks at once (default: the cluster's CPUs)
    split_mb: float = Field(32, gt=0, le=4096)  # input per task (CSV byte ranges, Parquet row groups)
    max_retries: int = Field(3, ge=0, le=100)  # a task whose worker died is run again this many times


class JobConfig(_Model):
    """One validated job; ``base_dir`` is the folder relative paths resolve against."""

    tenant_id: str
    name: str
    description: str | None = None
    asset: AssetRef
    source: SourceConfig
    target: TargetConfig = Field(default_factory=TargetConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    incremental: IncrementalConfig | None = None
    engine: EngineConfig = Field(default_factory=EngineConfig)
    batch_size: int = Field(131072, ge=1, le=10_000_000)
    finops: FinOpsConfig = Field(default_factory=FinOpsConfig)
    lineage: LineageConfig = Field(default_factory=LineageConfig)
    dbt: DbtConfig = Field(default_factory=DbtConfig)
    notifications: dict[str, Any] | None = None  # overrides the workspace's (see notifications.config)
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    config_path: str | None = Field(None, exclude=True)

    @field_validator("tenant_id", "name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} must be letters, digits, '.', '_' or '-' (it names files)")
        return value

    @field_validator("asset", mode="before")
    @classmethod
    def _asset_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    def resolve(self, relative: str | Path) -> Path:
        """A path from this job resolved against the job file's folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)

    def target_table(self, asset: AssetDefinition) -> str:
        """The Iceberg table: ``target.table``, else ``<source_type>_<object>`` of the contract (what the
        generated dbt project reads), else the job name made an identifier."""
        if self.target.table:
            return self.target.table
        parts = [asset.source_type, asset.object_name] if asset.source_type else [self.name]
        return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts)).lower()

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        *,
        base_dir: str | Path | None = None,
        source: str | None = None,
        text: str | None = None,
        env: dict[str, str] | None = None,
    ) -> JobConfig:
        """Validate a job mapping (after ``${VAR}`` substitution); errors name the file, field and line."""
        if not isinstance(data, dict):
            raise ConfigError("a job config must be a mapping", path=source)
        resolved = substitute(data, env=env, source=source)
        try:
            job = cls.model_validate(
                {**resolved, "base_dir": Path(base_dir or Path.cwd()), "config_path": source}
            )
        except ValidationError as exc:
            raise config_error(exc, path=source, text=text, hidden=("base_dir",)) from None
        job._check_components(text)
        return job

    def _check_components(self, text: str | None) -> None:
        if self.asset.path is None and not (self.asset.source_type and self.asset.object):
            raise ConfigError(
                "give asset as a path or as {source_type, object[, version]}",
                path=self.config_path,
                field="asset",
            )
        if self.target.type == "parquet" and not self.target.path:
            raise ConfigError("a parquet target needs 'path'", path=self.config_path, field="target.path")
        check_section(self.notifications, path=self.config_path, text=text, partial=True)
        try:
            validate_source_options(self.source.type, self.source.options)
        except ConfigError as exc:
            field = f"source.{exc.field}" if exc.field else "source"
            line = _line(text, field)
            raise ConfigError(exc.message, path=self.config_path, field=field, line=line) from None


def load_job(path: str | Path, *, env: dict[str, str] | None = None) -> JobConfig:
    """Read and validate a job YAML file."""
    file = Path(path)
    load_file(file)  # clear errors for missing / malformed files
    text = file.read_text(encoding="utf-8")
    data = loads(text, source=file)
    if not isinstance(data, dict):
        raise ConfigError("a job config must be a mapping", path=str(file))
    return JobConfig.from_dict(data, base_dir=file.resolve().parent, source=str(file), text=text, env=env)


def _hide(value: str) -> str:
    """``value`` as an error may show it (registered secrets and URL passwords replaced)."""
    return redact_text(value)


def _line(text: str | None, field: str) -> int | None:
    if not text:
        return None
    return line_of(text, field)
