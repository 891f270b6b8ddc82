"""Audit log: one row per policy decision (requester, action, resource, outcome, reason, time).

Times are ISO-8601 UTC strings with microseconds (``2025-01-31T12:00:00.000001Z``), which sort
correctly as text on every dialect. ``details`` is JSON text.

Writes use group commit without a writer thread: a caller whose row arrives while another caller is
committing waits; when that commit ends, the first waiting caller becomes the next committer and
stores every row waiting at that moment in one transaction. Each caller returns only once its own
row is committed (or raises :class:`~dativo_ingest.errors.StoreError` when it could not be stored), so
concurrent decisions share commits and none is ever answered before it is recorded. A lone caller
simply commits its own row.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, func, select
from sqlalchemy.exc import SQLAlchemyError

from dativo_ingest.errors import DativoError, StoreError
from dativo_ingest.store.database import (
    MetadataStore,
    create_tables,
    metadata,
    migration,
    on_dispose,
    store_error,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("requester", String(255), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("resource_id", String(512), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", Text, nullable=False, default="{}"),
    Index("ix_audit_log_requester_at", "requester", "at"),
    Index("ix_audit_log_at", "at"),
)

migration("audit", 1)(create_tables(audit_log))
_INSERT = audit_log.insert()


def utc_stamp(moment: datetime | None = None) -> str:
    """``moment`` (default now) as the sortable UTC text the audit log stores."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def insert(store: MetadataStore, entry: dict[str, Any]) -> None:
    """Store one decision; returns once its row is committed, raises StoreError when it is not."""
    row = dict(entry)
    row["details"] = json.dumps(row.get("details") or {}, sort_keys=True, default=str)
    row.setdefault("at", utc_stamp())
    writer_for(store).write(row)


MAX_BATCH = 256


class PendingRow:
    """One caller's row waiting to be committed (``done`` is released once it is, or when the caller
    is to lead the next commit)."""

    __slots__ = ("committed", "done", "error", "lead", "row")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.done = threading.Lock()  # released when the row is committed, or when its caller leads
        self.done.acquire()
        self.error: BaseException | None = None
        self.lead = False
        self.committed = False


class GroupCommit:
    """Group commit of audit rows into one database (see the module docstring)."""

    #: The waiting-row type (a seam for tests that interrupt a waiter).
    pending_type: type[PendingRow] = PendingRow

    def __init__(self, store: MetadataStore) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.queue: deque[PendingRow] = deque()
        self.busy = False  # a caller is committing
        self.conn: Any = None  # SQLite: the connection committing callers share (one at a time)
        self.closed = False  # dropped by MetadataStore.dispose_all: close the connection once idle

    def write(self, row: dict[str, Any]) -> None:
        me = self.pending_type(row)
        with self.lock:
            self.queue.append(me)
            me.lead = not self.busy
            self.busy = True
        try:
            if not me.lead:
                me.done.acquire()  # committed by another caller, or handed the lead
            if me.lead:
                self._lead(me)
        except BaseException:
            # interrupted (KeyboardInterrupt, ...) while waiting: never leave the lead with nobody
            self._abandon(me)
            raise
        if me.error is not None:
            raise me.error

    def _abandon(self, me: PendingRow) -> None:
        """``me``'s caller stops waiting: withdraw its row if still queued, and pass on the lead if it
        was handed to it (a row already taken into a batch is its leader's to finish)."""
        with self.lock:
            if me not in self.queue:
                return
            self.queue.remove(me)
            if me.lead:
                me.lead = False
                self._hand_over()

    def _hand_over(self) -> None:
        """(under ``lock``) Make the first waiting caller the next leader, or go idle."""
        if self.queue:
            nxt = self.queue[0]
            nxt.lead = True
            nxt.done.release()
            return
        self.busy = False
        if self.closed:
            self._close_conn()

    def _lead(self, me: PendingRow) -> None:
        """Commit every waiting row (``me``'s among them), then hand over to the next waiting caller."""
        batch: list[PendingRow] = []
        try:
            with self.lock:
                while self.queue and len(batch) < MAX_BATCH:
                    batch.append(self.queue.popleft())
            self._commit(batch)
        finally:
            for p in batch:
                if p.error is None and not p.committed:
                    p.error = StoreError("audit write interrupted")
                if p is not me:
                    p.done.release()
            with self.lock:
                self._hand_over()

    def close(self) -> None:
        """Close the kept connection now, or when the caller committing now is done."""
        with self.lock:
            self.closed = True
            if not self.busy:
                self._close_conn()

    def _close_conn(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()

    def _commit(self, batch: list[PendingRow]) -> None:
        try:
            self.insert_rows([p.row for p in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = _store_error(exc)
                return
            # one bad row must not refuse the others: store each on its own
            for p in batch:
                try:
                    self.insert_rows([p.row])
                except Exception as one:
                    p.error = _store_error(one)
                else:
                    p.committed = True
            return
        for p in batch:
            p.committed = True

    def insert_rows(self, rows: list[dict[str, Any]]) -> None:
        """Store ``rows`` in one transaction (the one database write of a commit)."""
        engine = getattr(self.store, "engine", None)
        if engine is None or engine.dialect.name != "sqlite":
            with self.store.begin() as conn:
                conn.execute(_INSERT, rows)
            return
        # SQLite (a local file): the committing caller reuses one connection instead of a pool checkout
        # per batch; only one caller commits at a time, and any error discards the connection
        try:
            if self.conn is None:
                self.conn = engine.connect()
            with self.conn.begin():
                self.conn.execute(_INSERT, rows)
        except SQLAlchemyError as exc:
            conn, self.conn = self.conn, None
            if conn is not None:
                with contextlib.suppress(SQLAlchemyError):
                    conn.invalidate()
            raise store_error(exc) from exc


def _store_error(exc: BaseException) -> BaseException:
    if isinstance(exc, DativoError):
        return exc
    return StoreError(f"audit write failed: {exc.__class__.__name__}: {exc}")


_writers_lock = threading.Lock()
_writers: dict[int, GroupCommit] = {}


def _after_fork() -> None:
    # a forked child starts with no caller committing (the parent's pending rows are the parent's)
    global _writers_lock, _writers
    _writers_lock = threading.Lock()
    _writers = {}


os.register_at_fork(after_in_child=_after_fork)


def open_writers() -> int:
    """How many databases have a group commit open (``MetadataStore.dispose_all`` closes them)."""
    return len(_writers)


@on_dispose
def _close_writers() -> None:
    """Close and drop every writer's kept connection (run by :meth:`MetadataStore.dispose_all`)."""
    with _writers_lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        writer.close()


def writer_for(store: MetadataStore) -> GroupCommit:
    """The group commit of ``store``'s database (one per engine: every store on a database shares it;
    :meth:`MetadataStore.dispose_all` drops them with the engines)."""
    engine = getattr(store, "engine", store)
    key = id(engine)
    writer = _writers.get(key)
    if writer is None:
        with _writers_lock:
            writer = _writers.get(key)
            if writer is None:
                writer = _writers[key] = GroupCommit(store)
    return writer


def _where(requester: str | None, since: datetime | None, action: str | None) -> list[Any]:
    c = audit_log.c
    clauses = []
    if requester is not None:
        clauses.append(c.requester == requester)
    if since is not None:
        clauses.append(c.at >= utc_stamp(since))
    if action is not None:
        clauses.append(c.action == action)
    return clauses


def query(
    store: MetadataStore,
    *,
    requester: str | None = None,
    since: datetime | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Decisions matching the filters, oldest first (the newest ``limit`` when a limit is given)."""
    c = audit_log.c
    stmt = select(audit_log).where(*_where(requester, since, action)).order_by(c.at.desc(), c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    for row in rows:
        row["details"] = json.loads(row["details"] or "{}")
    rows.reverse()
    return rows


def count(
    store: MetadataStore,
    *,
    requester: str | None = None,
    since: datetime | None = None,
    action: str | None = None,
) -> int:
    """How many decisions match the filters."""
    stmt = select(func.count()).select_from(audit_log).where(*_where(requester, since, action))
    with store.connect() as conn:
        return int(conn.execute(stmt).scalar_one())
