"""Adapters to lineage and FinOps for the AI context API; each answers empty (or None) when its data is
absent or its store fails, so a context answer never fails for want of lineage or costs."""

from __future__ import annotations

import threading
import time
from typing import Any

from dativo_ingest.errors import DativoError, NotFoundError
from dativo_ingest.finops.queries import get_cost_summary
from dativo_ingest.lineage_graph.tracker import LineageTracker
from dativo_ingest.logging import get_logger

logger = get_logger(__name__)
RUN_SCAN_LIMIT = 200


def default_lineage(store: Any) -> Any:
    """A LineageTracker on ``store``."""
    return LineageTracker(store)


def asset_node_id(source_type: str | None, object_name: str, version: str) -> str:
    return f"asset://{source_type}/{object_name}@{version}"  # registered contracts always name a source


VIA = "_via"  # the neighbour (one hop nearer the start) a hop was reached through; dropped before answers


def _node(item: dict[str, Any], direction: str) -> dict[str, Any]:
    """A lineage hop without node attributes (they copy contract fields, restricted ones included)."""
    node = item.get("node") or {}
    edge = item.get("edge") or {}
    return {
        "id": node.get("id"),
        "type": node.get("type"),
        "name": node.get("name"),
        "depth": item.get("depth"),
        "edge": edge.get("type"),
        VIA: edge.get("from") if direction == "downstream" else edge.get("to"),
    }


MAX_KNOWN_NODES = 100_000  # above this many lineage nodes, nodes are not listed (asked one by one)


class LineageCache:
    """Answers of :func:`lineage_of` kept ``ttl`` seconds (lineage changes per run, not per request);
    each caller gets its own copy.

    The ids of all lineage nodes are listed once per ``ttl`` too (up to :data:`MAX_KNOWN_NODES`), so
    a node that is not in the graph, as most assets without recorded runs are not, is answered
    without a query; it is seen within ``ttl`` of being recorded, as a cached answer would be."""

    def __init__(self, ttl: float = 1.0, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[tuple[int, str, int], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._known: tuple[int, float, frozenset[str] | None] | None = None
        self._known_lock = threading.Lock()

    def _known_nodes(self, tracker: Any) -> frozenset[str] | None:
        """Ids of every node of ``tracker``'s graph (at most ``ttl`` old), or None when not listable."""
        if not isinstance(tracker, LineageTracker):  # only its graph is listed by node id
            return None
        known = self._known
        now = time.monotonic()
        if known is not None and known[0] == id(tracker) and now - known[1] < self.ttl:
            return known[2]
        with self._known_lock:
            known = self._known
            if known is not None and known[0] == id(tracker) and time.monotonic() - known[1] < self.ttl:
                return known[2]
            started = time.monotonic()
            ids = _node_ids(tracker)
            self._known = (id(tracker), started, ids)
            return ids

    def get(self, tracker: Any, node_id: str, max_depth: int) -> dict[str, Any]:
        if tracker is not None:
            known = self._known_nodes(tracker)
            if known is not None and node_id not in known:
                return {"available": True, "upstream": [], "downstream": []}
        key = (id(tracker), node_id, max_depth)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is None or now - hit[0] >= self.ttl:
            view = lineage_of(tracker, node_id, max_depth)
            with self._lock:
                if len(self._entries) >= self.size:
                    self._entries.clear()
                self._entries[key] = (now, view)
        else:
            view = hit[1]
        return {
            "available": view["available"],
            "upstream": [dict(n) for n in view["upstream"]],
            "downstream": [dict(n) for n in view["downstream"]],
        }


def _node_ids(tracker: Any) -> frozenset[str] | None:
    """Every node id of ``tracker``'s graph (None when there are too many to list, or on error)."""
    try:
        ids = tracker.repository.iter_node_ids(limit=MAX_KNOWN_NODES + 1)
    except DativoError as exc:
        logger.warning("lineage nodes not listed", extra={"fields": {"error": str(exc)}})
        return None
    return None if len(ids) > MAX_KNOWN_NODES else frozenset(ids)


def lineage_of(tracker: Any, node_id: str, max_depth: int) -> dict[str, Any]:
    """``{available, upstream, downstream}`` for a node (empty lists when unknown or unavailable)."""
    if tracker is None:
        return {"available": False, "upstream": [], "downstream": []}
    try:
        up = tracker.get_upstream_lineage(node_id, max_depth=max_depth)
        down = tracker.get_downstream_lineage(node_id, max_depth=max_depth)
    except NotFoundError:
        return {"available": True, "upstream": [], "downstream": []}
    except DativoError as exc:
        logger.warning("lineage unavailable", extra={"fields": {"error": str(exc)}})
        return {"available": False, "upstream": [], "downstream": []}
    return {
        "available": True,
        "upstream": [_node(i, "upstream") for i in up],
        "downstream": [_node(i, "downstream") for i in down],
    }


def _run_node_ids(run: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    for n in run.get("nodes") or []:
        node_id = n.get("id") if isinstance(n, dict) else str(n)
        if isinstance(node_id, str):  # ids are looked up as text; anything else would match nothing
            ids.add(node_id)
    return ids


class RunJobs:
    """Which (tenant, job) ran which lineage node, from the newest recorded runs; rebuilt at most every
    ``ttl`` seconds so a context request does not rescan runs."""

    def __init__(self, tracker: Any, ttl: float = 1.0) -> None:
        self.tracker = tracker
        self.ttl = ttl
        self._built_at = -1e9
        self._by_node: dict[str, set[tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def _current(self) -> dict[str, set[tuple[str, str]]]:
        with self._lock:
            if time.monotonic() - self._built_at >= self.ttl:
                self._by_node = self._build()
                self._built_at = time.monotonic()
            return self._by_node

    def jobs_touching(self, node_ids: set[str]) -> list[tuple[str, str]]:
        """(tenant, job) pairs whose recorded runs included one of ``node_ids``."""
        if self.tracker is None:
            return []
        by_node = self._current()
        return sorted(set().union(*(by_node.get(n, set()) for n in node_ids)))

    def tenants_of(self, node_id: str) -> set[str]:
        """Tenants whose recorded runs included ``node_id`` (empty when no run did)."""
        if self.tracker is None:
            return set()
        return {tenant for tenant, _ in self._current().get(node_id, ())}

    def _build(self) -> dict[str, set[tuple[str, str]]]:
        try:
            runs = self.tracker.runs(limit=RUN_SCAN_LIMIT)
        except DativoError:
            return {}
        by_node: dict[str, set[tuple[str, str]]] = {}
        for run in runs:
            for node_id in _run_node_ids(run):
                by_node.setdefault(node_id, set()).add((run["tenant_id"], run["job_name"]))
        return by_node


def cost_summary(store: Any, tenant_id: str | None, hours: float, job_name: str | None = None) -> dict | None:
    """FinOps cost summary from stored runs, or None when the FinOps store fails."""
    try:
        return get_cost_summary(tenant_id, since_hours=hours, job_name=job_name, store=store)
    except DativoError as exc:
        if exc.field == "since_hours":
            raise
        logger.warning("finops unavailable", extra={"fields": {"error": str(exc)}})
        return None


def finops_context(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """A cost summary with its totals also under ``cost_summary`` (``resource_usage`` it has already)."""
    if summary is None:
        return None
    totals = {
        "currency": summary["currency"],
        "run_count": summary["run_count"],
        "total_cost_usd": summary["total_cost_usd"],
        "cost_breakdown_usd": dict(summary["cost_breakdown_usd"]),
    }
    return {**summary, "cost_summary": totals}


def asset_costs(store: Any, jobs: list[tuple[str, str]], hours: float) -> dict[str, Any] | None:
    """Recent cost of the jobs that ran an asset, or None when there is nothing to report."""
    if not jobs:
        return None
    by_job, total, runs = [], 0.0, 0
    for tenant, job in jobs:
        summary = cost_summary(store, tenant, hours, job)
        if summary is None:
            return None
        by_job.append(
            {
                "tenant_id": tenant,
                "job_name": job,
                "runs": summary["run_count"],
                "total_cost_usd": summary["total_cost_usd"],
            }
        )
        total += summary["total_cost_usd"]
        runs += summary["run_count"]
    return {
        "time_range_hours": hours,
        "currency": "USD",
        "run_count": runs,
        "total_cost_usd": round(total, 9),
        "by_job": by_job,
    }
