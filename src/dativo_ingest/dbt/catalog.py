"""The Iceberg catalog the generated DuckDB profile reads, taken from a job's ``target.catalog``.

dbt-duckdb's ``iceberg`` plugin opens the catalog with pyiceberg, so a shared catalog (PostgreSQL, REST)
with its warehouse on S3 is read the same way the run wrote it, with no DuckDB extension to download.
``${VAR}`` references in the job stay references: they become dbt ``{{ env_var('VAR') }}`` calls in
``profiles.yml``, so no key or password is ever written into the project.

    props = profile_catalog(load_mapping("jobs/orders.yaml")["target"]["catalog"])
    ProjectConfig(input="iceberg", catalog=props)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dativo_ingest.errors import ConfigError
from dativo_ingest.ingest.jobconfig import CatalogConfig, S3Config
from dativo_ingest.ingest.targets.catalog import catalog_properties
from dativo_ingest.yamlio import load_mapping

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def profile_catalog(raw: dict[str, Any], *, origin: str = "job") -> tuple[tuple[str, str], ...]:
    """pyiceberg catalog properties (name first) for the profile, from a job's raw ``target.catalog``
    mapping (before ``${VAR}`` substitution), the references rendered as dbt ``env_var`` calls."""
    if not isinstance(raw, dict):
        raise ConfigError("target.catalog must be a mapping", path=origin, field="target.catalog")
    if raw.get("type", "sql") == "sql" and not raw.get("uri"):
        return ()  # the workspace's own SQLite catalog: the profile's default
    s3 = raw.get("s3")
    try:
        config = CatalogConfig.model_construct(
            **{k: v for k, v in raw.items() if k != "s3"},
            s3=S3Config.model_construct(**s3) if isinstance(s3, dict) else None,
        )
        props = catalog_properties(config, Path("warehouse"))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"unusable catalog: {exc}", path=origin, field="target.catalog") from exc
    name = str(raw.get("name") or "dativo")
    rendered = {key: _env_var_calls(str(value)) for key, value in props.items()}
    if str(raw.get("uri", "")).startswith("${"):  # a database URL from the environment: psycopg 3, as in runs
        rendered["uri"] = rendered["uri"].replace(
            " }}", " | replace('postgresql://', 'postgresql+psycopg://') }}", 1
        )
    return (("catalog", name), *sorted(rendered.items()))


def catalog_of_job(path: Path) -> tuple[tuple[str, str], ...]:
    """:func:`profile_catalog` of the ``target.catalog`` in the job file ``path``."""
    target = load_mapping(path).get("target") or {}
    raw = target.get("catalog") if isinstance(target, dict) else None
    if raw is None:
        raise ConfigError("the job names no target.catalog", path=path, field="target.catalog")
    return profile_catalog(raw, origin=str(path))


def _env_var_calls(value: str) -> str:
    """``${VAR}`` / ``${VAR:-default}`` as dbt ``env_var`` calls (the rest of the text kept)."""

    def call(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        arguments = f"'{name}'" if default is None else f"'{name}', '{default}'"
        return f"{{{{ env_var({arguments}) }}}}"

    return _VAR.sub(call, value)
