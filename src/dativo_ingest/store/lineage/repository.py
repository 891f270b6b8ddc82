"""Reads, writes and walks of lineage nodes, edges, column edges and runs in the metadata store.

A walk is one recursive CTE. It keeps only ``(node_id, depth)`` rows and ``UNION`` drops duplicates, so
its size is bounded by nodes x depth even on diamonds and cycles; a second join picks, for each reached
node at its smallest depth, the edges that reached it from the previous level.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dativo_ingest.errors import NotFoundError
from dativo_ingest.lineage_graph.model import ColumnEdge, LineageEdge, LineageNode
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.lineage.tables import (
    lineage_column_edges,
    lineage_edges,
    lineage_nodes,
    lineage_runs,
)

CHUNK = 500

_WALK_SQL = """
WITH RECURSIVE walk(node_id, depth) AS (
    SELECT CAST(:start AS VARCHAR(512)), 0
    UNION
    SELECT CAST(e.{next} AS VARCHAR(512)), w.depth + 1
    FROM walk w JOIN lineage_edges e ON e.{this} = w.node_id
    WHERE w.depth < :max_depth
),
best AS (SELECT node_id, MIN(depth) AS depth FROM walk GROUP BY node_id)
SELECT b.depth AS depth, e.src_id, e.dst_id, e.edge_type, e.attributes AS edge_attributes,
       n.id, n.kind, n.name, n.attributes
FROM best b
JOIN lineage_edges e ON e.{next} = b.node_id
JOIN best p ON p.node_id = e.{this} AND p.depth = b.depth - 1
JOIN lineage_nodes n ON n.id = b.node_id
WHERE b.depth > 0
ORDER BY b.depth, n.id, e.{this}, e.edge_type
"""

WALK_SQL = {
    "downstream": text(_WALK_SQL.format(this="src_id", next="dst_id")),
    "upstream": text(_WALK_SQL.format(this="dst_id", next="src_id")),
}
DIRECTIONS = tuple(WALK_SQL)


def now_iso() -> str:
    """The current UTC time as ISO 8601 with a ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def node_from_row(row: Any) -> LineageNode:
    stamp = getattr(row, "updated_at", None)
    return LineageNode(row.id, row.kind, row.name, json.loads(row.attributes or "{}"), stamp)


def edge_from_row(row: Any) -> LineageEdge:
    return LineageEdge(row.src_id, row.dst_id, row.edge_type, json.loads(row.attributes or "{}"))


def column_edge_from_row(row: Any) -> ColumnEdge:
    return ColumnEdge(
        row.src_id, row.src_field, row.dst_id, row.dst_field, row.transformation, row.description
    )


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows``, skipping those whose primary key already exists."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.execute(sqlite_insert(table).on_conflict_do_nothing(), list(rows))
        return
    if dialect == "postgresql":
        conn.execute(postgresql_insert(table).on_conflict_do_nothing(), list(rows))
        return
    for row in rows:
        keys = [c.name for c in table.primary_key.columns]
        exists = conn.execute(
            select(func.count()).select_from(table).where(and_(*(table.c[k] == row[k] for k in keys)))
        ).scalar()
        if not exists:
            conn.execute(table.insert().values(**row))


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class GraphRepository:
    """The lineage tables of one :class:`MetadataStore`."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    # ----- writes -----------------------------------------------------------------------------
    def upsert_node(self, node: LineageNode) -> LineageNode:
        """Insert the node, or merge its attributes into the stored ones; returns the stored node."""
        stamp = now_iso()
        with self.store.begin() as conn:
            row = conn.execute(select(lineage_nodes).where(lineage_nodes.c.id == node.id)).first()
            if row is None:
                conn.execute(
                    lineage_nodes.insert().values(
                        id=node.id,
                        kind=node.kind,
                        name=node.name,
                        attributes=_dumps(node.attributes),
                        created_at=stamp,
                        updated_at=stamp,
                    )
                )
                return LineageNode(node.id, node.kind, node.name, node.attributes, stamp)
            merged = {**json.loads(row.attributes or "{}"), **node.attributes}
            changed = (
                row.kind != node.kind or row.name != node.name or merged != json.loads(row.attributes or "{}")
            )
            stored = LineageNode(node.id, node.kind, node.name, merged, stamp if changed else row.updated_at)
            if changed:
                conn.execute(
                    lineage_nodes.update()
                    .where(lineage_nodes.c.id == node.id)
                    .values(kind=node.kind, name=node.name, attributes=_dumps(merged), updated_at=stamp)
                )
            return stored

    def add_edge(self, edge: LineageEdge) -> LineageEdge:
        """Store a node-level edge (idempotent); both ends must exist."""
        with self.store.begin() as conn:
            self._require_nodes(conn, [edge.from_id, edge.to_id])
            insert_ignore(
                conn,
                lineage_edges,
                [
                    {
                        "src_id": edge.from_id,
                        "dst_id": edge.to_id,
                        "edge_type": edge.edge_type,
                        "attributes": _dumps(edge.attributes),
                        "created_at": now_iso(),
                    }
                ],
            )
        return edge

    def add_column_edges(self, edges: Sequence[ColumnEdge], edge_type: str = "column_lineage") -> None:
        """Store column edges (idempotent) and a node-level edge for each pair that has none yet."""
        if not edges:
            return
        stamp = now_iso()
        with self.store.begin() as conn:
            self._require_nodes(conn, sorted({e.from_id for e in edges} | {e.to_id for e in edges}))
            pairs = sorted({(e.from_id, e.to_id) for e in edges})
            linked = {
                (r.src_id, r.dst_id)
                for r in conn.execute(
                    select(lineage_edges.c.src_id, lineage_edges.c.dst_id).where(
                        or_(
                            *(
                                and_(lineage_edges.c.src_id == s, lineage_edges.c.dst_id == d)
                                for s, d in pairs
                            )
                        )
                    )
                )
            }
            insert_ignore(
                conn,
                lineage_edges,
                [
                    {
                        "src_id": s,
                        "dst_id": d,
                        "edge_type": edge_type,
                        "attributes": "{}",
                        "created_at": stamp,
                    }
                    for s, d in pairs
                    if (s, d) not in linked
                ],
            )
            insert_ignore(
                conn,
                lineage_column_edges,
                [
                    {
                        "src_id": e.from_id,
                        "src_field": e.from_field,
                        "dst_id": e.to_id,
                        "dst_field": e.to_field,
                        "transformation": e.transformation,
                        "description": e.description,
                        "created_at": stamp,
                    }
                    for e in edges
                ],
            )

    def replace_column_edges(self, from_id: str, to_id: str, edges: Sequence[ColumnEdge]) -> None:
        """Make ``edges`` the only column edges from ``from_id`` to ``to_id``."""
        with self.store.begin() as conn:
            conn.execute(
                lineage_column_edges.delete().where(
                    and_(lineage_column_edges.c.src_id == from_id, lineage_column_edges.c.dst_id == to_id)
                )
            )
        self.add_column_edges(edges)

    def remove_inputs(self, node_id: str) -> None:
        """Delete every node-level and column edge into ``node_id`` (before re-declaring its inputs)."""
        with self.store.begin() as conn:
            conn.execute(lineage_column_edges.delete().where(lineage_column_edges.c.dst_id == node_id))
            conn.execute(lineage_edges.delete().where(lineage_edges.c.dst_id == node_id))

    def _require_nodes(self, conn: Connection, ids: Sequence[str]) -> None:
        found = {r.id for r in conn.execute(select(lineage_nodes.c.id).where(lineage_nodes.c.id.in_(ids)))}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(
                f"unknown lineage node {missing[0]!r}; add the node before linking it", field="node"
            )

    def save_run(
        self, record: dict[str, Any], event_type: str, parent_run_id: str | None, error: str | None = None
    ) -> None:
        with self.store.begin() as conn:
            conn.execute(
                lineage_runs.insert().values(
                    run_id=record["run_id"],
                    tenant_id=record["tenant_id"],
                    job_name=record["job_name"],
                    status=record["status"],
                    event_type=event_type,
                    timestamp=record["timestamp"],
                    parent_run_id=parent_run_id,
                    error=error,
                    metrics=_dumps(record.get("metrics") or {}),
                    nodes=_dumps([n["id"] for n in record["nodes"]]),
                    edges=_dumps(record["edges"]),
                )
            )

    # ----- reads ------------------------------------------------------------------------------
    def get_node(self, node_id: str) -> LineageNode | None:
        with self.store.connect() as conn:
            row = conn.execute(select(lineage_nodes).where(lineage_nodes.c.id == node_id)).first()
        return node_from_row(row) if row else None

    def get_nodes(self, ids: Iterable[str]) -> dict[str, LineageNode]:
        wanted = sorted(set(ids))
        found: dict[str, LineageNode] = {}
        with self.store.connect() as conn:
            for part in chunks(wanted):
                for row in conn.execute(select(lineage_nodes).where(lineage_nodes.c.id.in_(part))):
                    found[row.id] = node_from_row(row)
        return found

    def walk_rows(self, start: str, direction: str, max_depth: int) -> Sequence[Row]:
        """One row per edge reaching a node within ``max_depth`` hops of ``start`` (``upstream`` or
        ``downstream``), at the node's smallest depth, ordered by depth, node id and edge."""
        with self.store.connect() as conn:
            return conn.execute(WALK_SQL[direction], {"start": start, "max_depth": int(max_depth)}).all()

    def count(self, table: Table) -> int:
        with self.store.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)

    def iter_node_ids(self, limit: int | None = None) -> list[str]:
        """Stored node ids, sorted (the first ``limit`` of them when given)."""
        query = select(lineage_nodes.c.id).order_by(lineage_nodes.c.id).limit(limit)
        with self.store.connect() as conn:
            return [r.id for r in conn.execute(query)]

    def nodes(self, kinds: Sequence[str] | None = None, id_prefix: str | None = None) -> list[LineageNode]:
        """Stored nodes (of ``kinds``, with ids starting ``id_prefix``), sorted by id."""
        query = select(lineage_nodes).order_by(lineage_nodes.c.id)
        if kinds:
            query = query.where(lineage_nodes.c.kind.in_(list(kinds)))
        if id_prefix:
            query = query.where(lineage_nodes.c.id.startswith(id_prefix, autoescape=True))
        with self.store.connect() as conn:
            return [node_from_row(r) for r in conn.execute(query)]

    def edges(self, node_ids: Sequence[str] | None = None) -> list[LineageEdge]:
        """Every edge, or those touching ``node_ids``; sorted."""
        table = lineage_edges
        order = (table.c.src_id, table.c.dst_id, table.c.edge_type)
        result: dict[tuple[str, str, str], LineageEdge] = {}
        with self.store.connect() as conn:
            if node_ids is None:
                return [edge_from_row(r) for r in conn.execute(select(table).order_by(*order))]
            for part in chunks(sorted(set(node_ids))):
                query = select(table).where(or_(table.c.src_id.in_(part), table.c.dst_id.in_(part)))
                for row in conn.execute(query):
                    result[(row.src_id, row.dst_id, row.edge_type)] = edge_from_row(row)
        return [result[k] for k in sorted(result)]

    def has_edge(self, from_id: str, to_id: str, edge_type: str) -> bool:
        t = lineage_edges
        with self.store.connect() as conn:
            row = conn.execute(
                select(t.c.src_id).where(
                    t.c.src_id == from_id, t.c.dst_id == to_id, t.c.edge_type == edge_type
                )
            ).first()
        return row is not None

    def out_edges(self, node_ids: Sequence[str]) -> list[LineageEdge]:
        """Node-level edges leaving any of ``node_ids``."""
        rows: list[LineageEdge] = []
        with self.store.connect() as conn:
            for part in chunks(sorted(set(node_ids))):
                rows.extend(
                    edge_from_row(r)
                    for r in conn.execute(select(lineage_edges).where(lineage_edges.c.src_id.in_(part)))
                )
        return rows

    def column_edges(
        self, node_ids: Sequence[str] | None = None, *, outgoing: bool = True, incoming: bool = True
    ) -> list[ColumnEdge]:
        """Column edges touching ``node_ids`` (or all), sorted."""
        t = lineage_column_edges
        order = (t.c.src_id, t.c.src_field, t.c.dst_id, t.c.dst_field)
        found: dict[tuple[str, str, str, str], ColumnEdge] = {}
        with self.store.connect() as conn:
            if node_ids is None:
                return [column_edge_from_row(r) for r in conn.execute(select(t).order_by(*order))]
            for part in chunks(sorted(set(node_ids))):
                conds = ([t.c.src_id.in_(part)] if outgoing else []) + (
                    [t.c.dst_id.in_(part)] if incoming else []
                )
                for row in conn.execute(select(t).where(or_(*conds))):
                    found[(row.src_id, row.src_field, row.dst_id, row.dst_field)] = column_edge_from_row(row)
        return [found[k] for k in sorted(found)]

    def jobs_with_node_prefix(self, id_prefix: str) -> list[tuple[str, str]]:
        """``(tenant_id, job_name)``, sorted, of every recorded run whose graph held a node whose id starts
        with ``id_prefix`` (``asset://stripe/customers@``: the jobs loading any version of a contract)."""
        pattern = _dumps(id_prefix)[:-1]  # the node ids are stored as a JSON list of strings
        query = (
            select(lineage_runs.c.tenant_id, lineage_runs.c.job_name)
            .where(lineage_runs.c.nodes.contains(pattern, autoescape=True))
            .distinct()
        )
        with self.store.connect() as conn:
            return sorted((r.tenant_id, r.job_name) for r in conn.execute(query))

    def runs(
        self, job_name: str | None = None, limit: int = 50, run_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded runs, newest first (optionally of one job, or the one ``run_id``)."""
        query = (
            select(lineage_runs).order_by(lineage_runs.c.timestamp.desc(), lineage_runs.c.run_id).limit(limit)
        )
        if job_name:
            query = query.where(lineage_runs.c.job_name == job_name)
        if run_id:
            query = query.where(lineage_runs.c.run_id == run_id)
        with self.store.connect() as conn:
            return [
                {
                    "run_id": r.run_id,
                    "tenant_id": r.tenant_id,
                    "job_name": r.job_name,
                    "status": r.status,
                    "event_type": r.event_type,
                    "timestamp": r.timestamp,
                    "parent_run_id": r.parent_run_id,
                    "error": r.error,
                    "metrics": json.loads(r.metrics),
                    "nodes": json.loads(r.nodes),
                    "edges": json.loads(r.edges),
                }
                for r in conn.execute(query)
            ]
