"""Deterministic Mermaid and Graphviz DOT renderings of a set of lineage nodes and edges."""

from __future__ import annotations

import re
from collections.abc import Iterable

from dativo_ingest.lineage_graph.model import LineageEdge, LineageNode

SHAPES_MERMAID = {
    "source": ('[("', '")]'),
    "asset": ('[/"', '"/]'),
    "transformation": ('("', '")'),
    "target": ('[("', '")]'),
    "dbt_source": ('[("', '")]'),
    "dbt_model": ('["', '"]'),
    "exposure": ('{{"', '"}}'),
}
SHAPES_DOT = {
    "source": "cylinder",
    "asset": "note",
    "transformation": "box",
    "target": "cylinder",
    "dbt_source": "cylinder",
    "dbt_model": "box3d",
    "exposure": "hexagon",
}


def _key(node_id: str, index: dict[str, str]) -> str:
    return index.setdefault(node_id, f"n{len(index)}")


def _label(text: str) -> str:
    return re.sub(r'["\\]', "'", text)


def to_mermaid(nodes: Iterable[LineageNode], edges: Iterable[LineageEdge]) -> str:
    """A ``flowchart LR`` with one shape per node kind and edge types as labels."""
    ordered = sorted(nodes, key=lambda n: n.id)
    index: dict[str, str] = {}
    lines = ["flowchart LR"]
    for node in ordered:
        left, right = SHAPES_MERMAID.get(node.kind, ('["', '"]'))
        lines.append(f"    {_key(node.id, index)}{left}{_label(node.id)}{right}")
    for edge in sorted(edges, key=lambda e: (e.from_id, e.to_id, e.edge_type)):
        if edge.from_id in index and edge.to_id in index:
            lines.append(f"    {index[edge.from_id]} -->|{_label(edge.edge_type)}| {index[edge.to_id]}")
    return "\n".join(lines) + "\n"


def to_dot(nodes: Iterable[LineageNode], edges: Iterable[LineageEdge]) -> str:
    """A Graphviz ``digraph`` (left to right)."""
    ordered = sorted(nodes, key=lambda n: n.id)
    known = {n.id for n in ordered}
    lines = ["digraph lineage {", "    rankdir=LR;"]
    for node in ordered:
        shape = SHAPES_DOT.get(node.kind, "box")
        lines.append(f'    "{_label(node.id)}" [shape={shape}, label="{_label(node.name)}\\n({node.kind})"];')
    for edge in sorted(edges, key=lambda e: (e.from_id, e.to_id, e.edge_type)):
        if edge.from_id in known and edge.to_id in known:
            lines.append(
                f'    "{_label(edge.from_id)}" -> "{_label(edge.to_id)}" [label="{_label(edge.edge_type)}"];'
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_tree(root: str, edges: Iterable[LineageEdge]) -> list[str]:
    """Text lines of everything downstream of ``root``, one branch per edge (``├─ id  (edge_type)``).

    Siblings keep their own branches (a quarantine table beside the main table, not after it); a node
    reached again is printed once more with ``(see above)`` and not expanded twice.
    """
    children: dict[str, dict[str, list[str]]] = {}
    for edge in sorted(edges, key=lambda e: (e.from_id, e.to_id, e.edge_type)):
        children.setdefault(edge.from_id, {}).setdefault(edge.to_id, []).append(edge.edge_type)
    lines = [root]
    shown = {root}

    def grow(node_id: str, prefix: str, path: frozenset[str]) -> None:
        branches = [(d, t) for d, t in children.get(node_id, {}).items() if d not in path]
        for i, (child, types) in enumerate(branches):
            last = i == len(branches) - 1
            again = child in shown
            note = "  (see above)" if again else ""
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{child}  ({', '.join(types)}){note}")
            if not again:
                shown.add(child)
                grow(child, prefix + ("   " if last else "│  "), path | {child})

    grow(root, "", frozenset({root}))
    return lines
