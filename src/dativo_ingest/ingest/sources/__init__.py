"""Source registry: a ``type`` name in the job config -> the class that reads it (one module per type).

Add a source by writing a module with a :class:`~dativo_ingest.ingest.sources.base.Source` subclass and
its class in :data:`SOURCES`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dativo_ingest.config_errors import config_error
from dativo_ingest.errors import ConfigError
from dativo_ingest.ingest.sources.base import Incremental, Source, SourceContext, SourceNode, SourceStats
from dativo_ingest.ingest.sources.csv import CsvSource
from dativo_ingest.ingest.sources.http_api import HttpSource
from dativo_ingest.ingest.sources.jsonl import JsonlSource
from dativo_ingest.ingest.sources.mysql import MysqlSource
from dativo_ingest.ingest.sources.parquet import ParquetSource
from dativo_ingest.ingest.sources.postgres import PostgresSource

SOURCES: dict[str, type[Source]] = {
    cls.type_name: cls
    for cls in (CsvSource, JsonlSource, ParquetSource, PostgresSource, MysqlSource, HttpSource)
}


def source_class(type_name: str) -> type[Source]:
    """The class registered for ``type_name``."""
    cls = SOURCES.get(type_name)
    if cls is None:
        raise ConfigError(
            f"unknown source type {type_name!r} (known: {', '.join(sorted(SOURCES))})", field="type"
        )
    return cls


def validate_source_options(type_name: str, options: dict[str, Any]) -> Any:
    """The source's options model built from ``options``; errors name the option."""
    cls = source_class(type_name)
    try:
        return cls.Options.model_validate(options)
    except ValidationError as exc:
        raise config_error(exc) from None


def build_source(type_name: str, options: dict[str, Any], context: SourceContext) -> Source:
    """An instance of the source ``type_name`` reading with ``options``."""
    return source_class(type_name)(validate_source_options(type_name, options), context)


__all__ = [
    "SOURCES",
    "Incremental",
    "Source",
    "SourceContext",
    "SourceNode",
    "SourceStats",
    "build_source",
    "source_class",
    "validate_source_options",
]
