"""Graph walks (one recursive CTE per walk, :meth:`GraphRepository.walk_rows`) shaped into hops, and a
column-aware impact search."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from dativo_ingest.errors import UsageError
from dativo_ingest.lineage_graph.model import CONSUMER_KINDS, PASS_THROUGH_KINDS, LineageEdge, LineageNode
from dativo_ingest.store.lineage.repository import DIRECTIONS, GraphRepository


def walk(repo: GraphRepository, start: str, direction: str, max_depth: int = 10) -> list[dict[str, Any]]:
    """Nodes reachable from ``start`` within ``max_depth`` hops: ``[{node, edge, depth}]``.

    Each node appears once, at its smallest depth, with the first (sorted) edge that reached it.
    """
    if direction not in DIRECTIONS:
        raise UsageError(
            f"direction must be 'upstream' or 'downstream', not {direction!r}", field="direction"
        )
    if max_depth < 0:
        raise UsageError("max_depth must be >= 0", field="max_depth")
    rows = repo.walk_rows(start, direction, int(max_depth))
    seen: set[str] = set()
    result: list[dict[str, Any]] = []
    for row in rows:
        if row.id in seen:
            continue
        seen.add(row.id)
        node = LineageNode(row.id, row.kind, row.name, json.loads(row.attributes or "{}"))
        edge = LineageEdge(row.src_id, row.dst_id, row.edge_type, json.loads(row.edge_attributes or "{}"))
        result.append({"node": node.to_dict(), "edge": edge.to_dict(), "depth": int(row.depth)})
    return result


def _related(a: str, b: str) -> bool:
    """Same field, or one is a nested member of the other (``address`` / ``address.city``)."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def impacted(
    repo: GraphRepository, start: str, field: str | None = None, max_depth: int = 50
) -> list[dict[str, Any]]:
    """Every dbt model and exposure downstream of ``start`` (of its column ``field`` when given).

    Column edges are precise; a plain edge into a pass-through node (asset, transformation, target, dbt
    source) keeps the column name; a plain edge into a model or exposure with no column edges from that
    parent means the consumer depends on the whole parent, so everything downstream of it is impacted.
    Returns ``[{node, depth, columns}]`` sorted by depth then id; ``columns`` lists the consumer's own
    columns known to depend on ``field`` (empty when the whole node depends on it).
    """
    states: set[tuple[str, str | None]] = {(start, field)}
    frontier = [(start, field)]
    depth_of: dict[str, int] = {}
    columns_of: dict[str, set[str]] = {}
    kinds: dict[str, str] = {}
    for depth in range(1, max_depth + 1):
        if not frontier:
            break
        ids = sorted({n for n, _ in frontier})
        out = repo.out_edges(ids)
        col_out = repo.column_edges(ids, incoming=False)
        targets = sorted({e.to_id for e in out})
        kinds.update({n.id: n.kind for n in repo.get_nodes([t for t in targets if t not in kinds]).values()})
        by_pair: dict[tuple[str, str], list[Any]] = {}
        for ce in col_out:
            by_pair.setdefault((ce.from_id, ce.to_id), []).append(ce)
        next_states: list[tuple[str, str | None]] = []
        for node_id, column in frontier:
            for dst in sorted({e.to_id for e in out if e.from_id == node_id}):
                for state in _step(node_id, column, dst, kinds.get(dst, ""), by_pair.get((node_id, dst), [])):
                    if state not in states:
                        states.add(state)
                        next_states.append(state)
        for dst, col in next_states:
            depth_of.setdefault(dst, depth)
            if col is not None:
                columns_of.setdefault(dst, set()).add(col)
        frontier = next_states
    nodes = repo.get_nodes(depth_of)
    found = [
        {"node": nodes[i].to_dict(), "depth": depth_of[i], "columns": sorted(columns_of.get(i, ()))}
        for i in depth_of
        if i in nodes and nodes[i].kind in CONSUMER_KINDS
    ]
    return sorted(found, key=lambda r: (r["depth"], r["node"]["id"]))


def _step(
    node_id: str, column: str | None, dst: str, dst_kind: str, column_edges: Iterable[Any]
) -> list[tuple[str, str | None]]:
    column_edges = list(column_edges)
    if column is None:
        return [(dst, None)]
    if column_edges:
        return [(dst, ce.to_field) for ce in column_edges if _related(ce.from_field, column)]
    if dst_kind in PASS_THROUGH_KINDS:
        return [(dst, column)]
    return [(dst, None)]
