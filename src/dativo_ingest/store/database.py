"""The metadata store: one SQLAlchemy 2 Core database for lineage, runs, FinOps, audit and search.

SQLite file under the workspace by default, PostgreSQL (or any SQLAlchemy URL) through
``DATIVO_DATABASE_URL``. Each component declares its tables on :data:`metadata` in its own module
under ``store/`` and registers numbered migrations with :func:`migration`; :meth:`MetadataStore.migrate`
applies what a database has not seen yet and records it in ``dativo_schema_version``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from dativo_ingest.errors import StoreError
from dativo_ingest.logging import redact_text
from dativo_ingest.workspace import Workspace

metadata = MetaData()

schema_version = Table(
    "dativo_schema_version",
    metadata,
    Column("component", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)


@dataclass(frozen=True)
class Migration:
    """Step ``version`` of ``component``'s schema; ``apply`` runs inside a transaction."""

    component: str
    version: int
    apply: Callable[[Connection], None]


_MIGRATIONS: list[Migration] = []
_DISPOSE_HOOKS: list[Callable[[], None]] = []


def store_error(exc: BaseException) -> StoreError:
    """``exc`` (a database error) as the StoreError callers see; ``raise store_error(exc) from exc``.
    Only DBAPI errors carry ``orig`` (the driver's exception); any other error is named as it is."""
    return StoreError(f"metadata store error: {exc.__class__.__name__}: {getattr(exc, 'orig', None) or exc}")


def on_dispose(hook: Callable[[], None]) -> Callable[[], None]:
    """Run ``hook`` from :meth:`MetadataStore.dispose_all` before the engines are disposed (modules that
    keep connections of their own, such as the audit writers, close them there). Decorator."""
    _DISPOSE_HOOKS.append(hook)
    return hook


def migration(component: str, version: int) -> Callable[[Callable[[Connection], None]], Callable]:
    """Register a migration step (decorator). Versions of one component start at 1 and increase."""

    def register(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
        _MIGRATIONS.append(Migration(component, version, fn))
        return fn

    return register


def create_tables(*tables: Table) -> Callable[[Connection], None]:
    """A migration step that creates ``tables`` (and their indexes) when missing."""

    def apply(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    return apply


class MetadataStore:
    """A migrated connection pool to the metadata database."""

    _lock = threading.Lock()
    _engines: dict[str, Engine] = {}

    def __init__(self, url: str | None = None) -> None:
        self.url = url or Workspace.current().database_url
        self.engine = self._engine_for(self.url)

    @classmethod
    def for_workspace(cls, workspace: Workspace | str | Path | None = None) -> MetadataStore:
        """The store of a workspace (``DATIVO_DATABASE_URL`` wins over the workspace's SQLite file)."""
        ws = workspace if isinstance(workspace, Workspace) else Workspace.current(workspace)
        return cls(ws.database_url)

    @classmethod
    def _engine_for(cls, url: str) -> Engine:
        with cls._lock:
            engine = cls._engines.get(url)
            if engine is None:
                engine = _create_engine(url)
                _migrate(engine)
                cls._engines[url] = engine
            return engine

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction; committed on success, rolled back on error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise store_error(exc) from exc

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise store_error(exc) from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def versions(self) -> dict[str, int]:
        """Applied schema version of each component."""
        with self.connect() as conn:
            return {row.component: row.version for row in conn.execute(select(schema_version))}

    @classmethod
    def dispose_all(cls) -> None:
        """Close every pooled connection (tests and forked workers), and those kept outside the pools
        (see :func:`on_dispose`)."""
        for hook in list(_DISPOSE_HOOKS):
            hook()
        with cls._lock:
            for engine in cls._engines.values():
                engine.dispose()
            cls._engines.clear()


def _create_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            database = url.split("///", 1)[-1]
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot open metadata store {_redact_url(url)}: {exc}") from exc


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _migrate(engine: Engine) -> None:
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # Serialise concurrent first-time migrations across processes.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74657)")
            schema_version.create(conn, checkfirst=True)
            applied = {row.component: row.version for row in conn.execute(select(schema_version))}
            for step in sorted(_MIGRATIONS, key=lambda m: (m.component, m.version)):
                current = applied.get(step.component, 0)
                if step.version <= current:
                    continue
                step.apply(conn)
                if current == 0:
                    conn.execute(
                        schema_version.insert().values(component=step.component, version=step.version)
                    )
                else:
                    conn.execute(
                        schema_version.update()
                        .where(schema_version.c.component == step.component)
                        .values(version=step.version)
                    )
                applied[step.component] = step.version
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate metadata store {_redact_url(str(engine.url))}: {exc}") from exc


def _redact_url(url: str) -> str:
    return redact_text(url)
