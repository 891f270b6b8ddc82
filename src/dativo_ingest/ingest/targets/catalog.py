"""The Iceberg catalog a job names, opened through pyiceberg with its FileIO configured.

Three shapes (``target.catalog`` in a job):

- default: a SQL catalog on SQLite in the workspace (``warehouse/catalog.db``), data under ``warehouse/``;
- shared: a SQL catalog on PostgreSQL (``uri: postgresql://...``) that many writers commit to, with the
  warehouse on S3-compatible storage (``warehouse: s3://bucket/prefix`` plus an ``s3:`` block with the
  endpoint, region and keys, usually ``${ENV}`` references);
- ``type: rest``: a REST catalog by ``uri``.

Every file a run writes (data, quarantine, manifests, table metadata) goes through the table's FileIO,
so it lands where the warehouse is. pyarrow's FileIO is used for ``s3://`` warehouses. Secret values
(keys, tokens, passwords in URIs) are registered with the log redactor and never appear in errors.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pyiceberg.catalog import load_catalog

from dativo_ingest.errors import TargetError
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.logging import redact_text, register_secret

PYARROW_FILE_IO = "pyiceberg.io.pyarrow.PyArrowFileIO"
_SECRET_WORDS = ("token", "credential", "secret", "password", "key")
_OPEN_ATTEMPTS = 3
_FINAL_REASONS = ("connection refused", "unknown host", "timed out")


def catalog_properties(config: CatalogConfig, warehouse: Path) -> dict[str, str]:
    """pyiceberg ``load_catalog`` properties for ``config`` (defaults: SQLite catalog in ``warehouse``)."""
    props = {**s3_properties(config), **config.properties}
    for key, value in props.items():
        if any(word in key.lower() for word in _SECRET_WORDS):
            register_secret(value)
    props["type"] = config.type
    if config.type == "sql":
        props["uri"] = sqlalchemy_url(config.uri or f"sqlite:///{warehouse / 'catalog.db'}")
        props["warehouse"] = config.warehouse or warehouse.as_uri()
        if props["uri"].startswith("sqlite:///"):
            Path(props["uri"][len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        if props["warehouse"].startswith("file://"):
            Path(urlsplit(props["warehouse"]).path).mkdir(parents=True, exist_ok=True)
    else:
        if not config.uri:  # CatalogConfig refuses such a config; kept for the types
            raise TargetError("a rest catalog needs 'uri'", field="target.catalog.uri")
        props["uri"] = config.uri
        if config.warehouse:
            props["warehouse"] = config.warehouse
    _register_url_password(props["uri"])
    return props


def s3_properties(config: CatalogConfig) -> dict[str, str]:
    """pyiceberg FileIO properties of the ``s3:`` block (pyarrow's S3 filesystem for s3:// warehouses)."""
    s3 = config.s3
    props: dict[str, str] = {}
    if s3 is None and not (config.warehouse or "").startswith(("s3://", "s3a://")):
        return props
    props["py-io-impl"] = PYARROW_FILE_IO
    if s3 is None:
        return props  # the standard AWS credential chain (environment, profile, instance role)
    values = {
        "s3.endpoint": s3.endpoint,
        "s3.region": s3.region,
        "s3.access-key-id": s3.access_key_id,
        "s3.secret-access-key": s3.secret_access_key,
        "s3.session-token": s3.session_token,
        "s3.force-virtual-addressing": None if s3.path_style is None else str(not s3.path_style).lower(),
    }
    for name in ("secret_access_key", "session_token", "access_key_id"):
        register_secret(getattr(s3, name))
    props.update({k: v for k, v in values.items() if v})  # "" (an unset ${VAR:-}) means unset
    return props


def sqlalchemy_url(uri: str) -> str:
    """``postgresql://`` means the psycopg 3 driver (the one the ``postgres`` extra installs)."""
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    return uri


def load_catalog_for(config: CatalogConfig, warehouse: Path) -> Any:
    """An open pyiceberg catalog; a failure is one line naming the catalog and its URI (redacted)."""
    props = catalog_properties(config, warehouse)
    for attempt in range(1, _OPEN_ATTEMPTS + 1):
        try:
            return load_catalog(config.name, **props)
        except Exception as exc:
            reason = describe_failure(exc)
            # writers opening a fresh SQL catalog at once race to create its tables: the losers retry
            if config.type == "sql" and attempt < _OPEN_ATTEMPTS and reason not in _FINAL_REASONS:
                time.sleep(0.2 * attempt)
                continue
            where = redact_text(config.uri or props["uri"])
            raise TargetError(
                f"cannot open Iceberg {config.type} catalog {config.name} at {where}: {reason}"
            ) from exc
    raise AssertionError("unreachable")


def describe_failure(exc: BaseException) -> str:
    """One redacted line for a catalog or storage failure (connection refused said as such)."""
    text = " ".join(str(exc).split())
    chain: BaseException | None = exc
    while chain is not None:
        lowered = str(chain).lower()
        if "connection refused" in lowered or isinstance(chain, ConnectionRefusedError):
            return "connection refused"
        if "could not translate host name" in lowered or "name or service not known" in lowered:
            return "unknown host"
        if "timed out" in lowered or isinstance(chain, TimeoutError):
            return "timed out"
        chain = chain.__cause__ or chain.__context__
    first = text.split(" [SQL:", 1)[0].split(" (Background on this error", 1)[0]
    return redact_text(f"{exc.__class__.__name__}: {first[:300]}")


def _register_url_password(uri: str) -> None:
    password = urlsplit(uri).password
    if password:
        register_secret(password)
