"""Relational tables and queries through SQLAlchemy, streamed with server-side cursors.

Options: ``url`` (put the password in ``${ENV_VAR}``), and ``table`` (with optional ``schema``) or
``query``. Only contract columns are selected from a table. Rows arrive in chunks of the job's
``batch_size`` through a server-side cursor (psycopg's named cursor, PyMySQL's ``SSCursor``), so memory
does not grow with the table. Incremental runs add ``WHERE cursor >= :since ORDER BY cursor``.
PostgreSQL and MySQL/MariaDB are the concrete sources (:mod:`.postgres`, :mod:`.mysql`).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import Field, model_validator
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest.sources.base import (
    Piece,
    Source,
    SourceNode,
    SourceOptions,
    column_array,
    since_value,
)
from dativo_ingest.logging import redact_text, register_secret


class SqlOptions(SourceOptions):
    url: str
    table: str | None = None
    schema_name: str | None = Field(None, alias="schema")
    query: str | None = None
    connect_timeout_seconds: int = Field(30, ge=1)
    #: distributed runs: split the rows into ``partitions`` key ranges of this numeric column (default:
    #: the table's primary key when it is one numeric column; else the source is read by one task)
    partition_column: str | None = None
    partitions: int = Field(16, ge=1, le=10_000)

    @model_validator(mode="after")
    def _one_of(self) -> SqlOptions:
        if bool(self.table) == bool(self.query):
            raise ValueError("give exactly one of 'table' or 'query'")
        return self


class SqlSource(Source):
    """Base of the SQL sources; subclasses name their driver and URL schemes."""

    Options = SqlOptions
    options: SqlOptions
    driver_scheme: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]]
    lineage_scheme: ClassVar[str]

    def _url(self):
        raw = self.options.url
        scheme = raw.split("://", 1)[0]
        if scheme not in self.schemes and scheme != self.driver_scheme:
            raise SourceError(f"{self.type_name} source needs a {self.schemes[0]}:// URL, got {scheme}://")
        if scheme != self.driver_scheme:
            raw = f"{self.driver_scheme}://{raw.split('://', 1)[1]}"
        try:
            url = make_url(raw)
        except Exception as exc:  # the message repeats the URL: mask it
            raise SourceError(f"bad {self.type_name} URL: {redact_text(str(exc))}") from None
        register_secret(url.password if isinstance(url.password, str) else None)
        return url

    def _engine(self):
        try:
            return create_engine(self._url(), connect_args=self._connect_args(), pool_pre_ping=False)
        except Exception as exc:  # driver missing, bad URL
            raise SourceError(f"cannot open {self.type_name} source: {redact_text(str(exc))}") from exc

    def _connect_args(self) -> dict[str, Any]:
        return {"connect_timeout": self.options.connect_timeout_seconds}

    def _query(self) -> str:
        """The job's query: set whenever ``table`` is not (the options hold exactly one of them)."""
        if self.options.query is None:
            raise ValueError("give exactly one of 'table' or 'query'")
        return self.options.query

    def dataset(self) -> tuple[str, str]:
        url = self._url()
        namespace = f"{self.lineage_scheme}://{url.host or 'localhost'}:{url.port or self.default_port}"
        if self.options.table:
            parts = [url.database, self.options.schema_name, self.options.table]
        else:
            parts = [url.database, "query_" + hashlib.sha256(self._query().encode()).hexdigest()[:12]]
        return namespace, ".".join(p for p in parts if p)

    def lineage_node(self, source_type: str | None, object_name: str) -> SourceNode:
        """Named by its own table (or query digest) and located by host, port and database, whatever
        the contract calls it: jobs reading the same table share its node."""
        url = self._url()
        parts = self.dataset()[1].split(".")
        return SourceNode(self.type_name, parts[-1], self._lineage_connection(url, parts))

    def _lineage_connection(self, url: Any, parts: list[str]) -> dict[str, Any]:
        """``parts``: the dataset name split (database, [schema,] table)."""
        return {
            "host": url.host or "localhost",
            "port": url.port or self.default_port,
            "database": url.database,
            "table": parts[-1],
        }

    default_port: ClassVar[int] = 0

    def fingerprint(self) -> None:
        return None

    def _sql(self, engine) -> tuple[str, dict[str, Any]]:
        quote = engine.dialect.identifier_preparer.quote
        incremental = self.context.incremental
        if self.options.table:
            try:
                available = {
                    c["name"]
                    for c in inspect(engine).get_columns(self.options.table, schema=self.options.schema_name)
                }
            except Exception as exc:
                raise SourceError(f"cannot read table {self.options.table}: {redact_text(str(exc))}") from exc
            self.check_columns(available, f"table {self.options.table}")
            wanted = [c for c in self.context.columns if c in available]
            if not wanted:
                raise SourceError(f"table {self.options.table} has none of the contract's columns")
            relation = quote(self.options.table)
            if self.options.schema_name:
                relation = f"{quote(self.options.schema_name)}.{relation}"
            sql = f"SELECT {', '.join(quote(c) for c in wanted)} FROM {relation}"
        else:
            sql = f"SELECT * FROM ({self._query().strip().rstrip(';')}) AS dativo_src"
        params: dict[str, Any] = {}
        where: list[str] = []
        since = since_value(incremental)
        if incremental is not None and since is not None:
            where.append(f"{quote(incremental.cursor_field)} >= :since")
            params["since"] = since.as_py()
        key_range = self.piece.key_range if self.piece is not None else None
        if key_range is not None:
            column, low, high, last = key_range
            key = quote(column)
            within = f"{key} >= :low AND {key} {'<=' if last else '<'} :high"
            first = self.piece is not None and self.piece.ordinal == 0
            where.append(f"({within} OR {key} IS NULL)" if first else f"({within})")
            params.update(low=low, high=high)
        if where:
            sql += " WHERE " + " AND ".join(where)
        if incremental is not None:
            sql += f" ORDER BY {quote(incremental.cursor_field)}"
        return sql, params

    def pieces(self, split_bytes: int, workers: int = 1) -> list[Piece]:
        """Key ranges of ``partition_column`` (or a one-column numeric primary key) between its smallest
        and greatest value, ``partitions`` of them; one piece when there is no such column."""
        column = self.options.partition_column or self._numeric_primary_key()
        if column is None or self.options.partitions == 1:
            return [Piece(0)]
        engine = self._engine()
        try:
            sql, params = self._sql(engine)
            quote = engine.dialect.identifier_preparer.quote
            bounds = f"SELECT MIN({quote(column)}), MAX({quote(column)}) FROM ({sql}) AS dativo_keys"
            with engine.connect() as conn:
                self.stats.api_calls += 1
                low, high = conn.execute(text(bounds), params).one()
        except SQLAlchemyError as exc:
            detail = getattr(exc, "orig", None) or exc
            reason = redact_text(str(detail)).splitlines()[0]
            raise SourceError(f"cannot split {self.type_name} source by {column}: {reason}") from exc
        finally:
            engine.dispose()
        if low is None or not isinstance(low, int | float) or isinstance(low, bool):
            return [Piece(0)]
        count = self.options.partitions
        step = (high - low) / count
        edges = [low + step * i for i in range(count)] + [high]
        if isinstance(low, int):
            edges = sorted({low, *(int(e) for e in edges[1:-1]), high})
        return [
            Piece(i, key_range=(column, a, b, i == len(edges) - 2))
            for i, (a, b) in enumerate(itertools.pairwise(edges))
        ]

    def _numeric_primary_key(self) -> str | None:
        """The table's primary key when it is one numeric contract column."""
        if not self.options.table:
            return None
        engine = self._engine()
        try:
            key = inspect(engine).get_pk_constraint(self.options.table, schema=self.options.schema_name)
        except SQLAlchemyError:
            return None
        finally:
            engine.dispose()
        columns = key.get("constrained_columns") or []
        if len(columns) != 1 or columns[0] not in self.context.columns:
            return None
        kind = self.context.columns[columns[0]]
        return columns[0] if pa.types.is_integer(kind) or pa.types.is_floating(kind) else None

    def batches(self) -> Iterator[pa.RecordBatch]:

        engine = self._engine()
        size = self.context.batch_size
        try:
            sql, params = self._sql(engine)
            with engine.connect() as conn:
                self.stats.api_calls += 1
                result = conn.execution_options(stream_results=True, max_row_buffer=size).execute(
                    text(sql), params
                )
                try:
                    yield from self._record_batches(result, size)
                finally:
                    result.close()  # the server-side cursor, also when stopped early or refused
        except SQLAlchemyError as exc:
            detail = getattr(exc, "orig", None) or exc
            raise SourceError(
                f"{self.type_name} query failed: {redact_text(str(detail)).splitlines()[0]}"
            ) from exc
        finally:
            engine.dispose()

    def _record_batches(self, result: Any, size: int) -> Iterator[pa.RecordBatch]:
        """The result's rows as record batches of ``size`` rows (a query must return required columns)."""
        names = list(result.keys())
        if self.options.query:
            self.check_columns(names, "query")
        for rows in result.partitions(size):
            columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
            arrays = [
                column_array(list(values), self.context.columns.get(name, pa.string()))
                for name, values in zip(names, columns, strict=True)
            ]
            self.stats.bytes_read += sum(a.nbytes for a in arrays)
            yield pa.RecordBatch.from_arrays(arrays, names=names)
