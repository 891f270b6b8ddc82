"""PostgreSQL tables and queries (psycopg 3, server-side cursor). URL: ``postgresql://user:pass@host/db``."""

from __future__ import annotations

from dativo_ingest.ingest.sources.sql import SqlSource


class PostgresSource(SqlSource):
    type_name = "postgres"
    driver_scheme = "postgresql+psycopg"
    schemes = ("postgresql", "postgres")
    lineage_scheme = "postgres"
    default_port = 5432
