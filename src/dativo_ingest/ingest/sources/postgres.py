"""PostgreSQL tables and queries (psycopg 3, server-side cursor). URL: ``postgresql://user:pass@host/db``."""

from __future__ import annotations

from typing import Any

from dativo_ingest.ingest.sources.sql import SqlSource


class PostgresSource(SqlSource):
    type_name = "postgres"
    driver_scheme = "postgresql+psycopg"
    schemes = ("postgresql", "postgres")
    lineage_scheme = "postgres"
    default_port = 5432

    def _lineage_connection(self, url: Any, parts: list[str]) -> dict[str, Any]:
        connection = super()._lineage_connection(url, parts)
        if len(parts) == 3:  # database.schema.table
            connection["schema"] = parts[1]
        return connection
