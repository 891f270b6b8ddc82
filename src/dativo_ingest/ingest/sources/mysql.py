"""MySQL and MariaDB tables and queries (PyMySQL, unbuffered ``SSCursor``). URL: ``mysql://user:pass@host/db``."""

from __future__ import annotations

from typing import Any

from dativo_ingest.ingest.sources.sql import SqlSource


class MysqlSource(SqlSource):
    type_name = "mysql"
    driver_scheme = "mysql+pymysql"
    schemes = ("mysql", "mariadb", "mariadb+pymysql")
    lineage_scheme = "mysql"
    default_port = 3306

    def _connect_args(self) -> dict[str, Any]:
        return {"connect_timeout": self.options.connect_timeout_seconds, "charset": "utf8mb4"}
