"""Page data of the web catalog, for one requester: every call is one policy decision and one audit row.

The pages read through the same :class:`~dativo_ingest.context.api.AIContextAPI` as the HTTP API and
MCP: a contract page *is* a ``get_asset_context`` answer (restricted fields marked, their details
withheld; other tenants' contracts answered as unknown), the index browses the same search index with
the same visibility, lineage hides the nodes the API hides. What the API has no call for (browsing with
facets and pages, version history and diffs, graph neighbourhoods, runs, the audit log) is decided and
audited here with the same guard.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dativo_ingest.context.api import AIContextAPI
from dativo_ingest.context.sources import asset_node_id
from dativo_ingest.errors import ContractNotFoundError, DativoError, NotFoundError, PolicyDenied, UsageError
from dativo_ingest.finops.queries import get_recent_runs, latest_anomalies
from dativo_ingest.policy.guard import AuditEntry
from dativo_ingest.policy.rules import AccessRequest
from dativo_ingest.registry.manager import suggested_version
from dativo_ingest.store import audit as audit_store
from dativo_ingest.store import quality as quality_store
from dativo_ingest.store import search

FACETS = ("classification", "owner", "domain", "tags", "status")
PER_PAGE = 25
QUERY_CAP = 200  # a text query pages through its best matches, this many at most
RESULT_CACHE = 256  # searches whose matches and facet counts are kept
MAX_DEPTH = 10
RUN_LIMIT = 500
RUN_MATCH_SECONDS = 120.0  # a lineage run and a cost record of the same job this close are one run


#: How many recent results of each check the contract page shows as its trend.
TREND_LENGTH = 10


@dataclass
class Browse:
    """One page of the index: the hits, the facet counts over every match, and where the page is."""

    items: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    per_page: int
    query: str
    filters: dict[str, list[str]]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    capped: bool = False  # a text query matched more than its best QUERY_CAP shown


def _values(doc: dict[str, Any], facet: str) -> list[str]:
    value = doc.get(facet)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _matches(doc: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    for facet, wanted in filters.items():
        if not wanted:
            continue
        have = {v.lower() for v in _values(doc, facet)}
        if not have & {w.lower() for w in wanted}:
            return False
    return True


def _stamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class CatalogPages:
    """The data behind each catalog page, as ``requester`` may see it."""

    def __init__(self, api: AIContextAPI, channel: str = "web") -> None:
        self.api = api
        self.channel = channel
        self._docs: dict[tuple[Any, int], list[dict[str, Any]]] = {}
        self._results: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    # ----- policy helpers -------------------------------------------------------------------------
    def _audited(self, requester: str, action: str, resource_type: str, resource_id: str) -> Any:
        self.api.store  # noqa: B018  (binds the guard to the store before anything is recorded)
        return self.api.policy_guard.audited(requester, action, resource_type, resource_id, self.channel)

    def is_elevated(self, requester: str) -> bool:
        return self.api.policy.is_elevated(requester)

    def _allow(self, entry: AuditEntry, resource_type: str, resource_id: str, **kw: Any) -> None:
        guard = self.api.policy_guard
        guard.require_requester(entry)
        request = AccessRequest(entry.requester, entry.action, resource_type, resource_id, **kw)
        guard.enforce(entry, guard.evaluate(request))

    def _asset(self, entry: AuditEntry, source_type: str, object_name: str, version: str | None) -> Any:
        """A contract version the requester may see (unknown and other tenants' alike: not found)."""
        not_found = f"no contract {source_type}/{object_name}" + (f" version {version}" if version else "")
        try:
            asset = self.api.catalog.get(source_type, object_name, version)
        except ContractNotFoundError:
            raise ContractNotFoundError(not_found, field="object") from None
        guard = self.api.policy_guard
        decision = guard.evaluate(
            AccessRequest(
                entry.requester,
                entry.action,
                "asset",
                f"{source_type}/{object_name}",
                frozenset(asset.classifications),
                asset.tenant,
            )
        )
        if not decision.allowed and decision.rule == "tenant_scope":
            entry.decide(decision)
            entry.details["answered"] = "not_found"
            raise ContractNotFoundError(not_found, field="object")
        guard.enforce(entry, decision)
        return asset

    # ----- index ----------------------------------------------------------------------------------
    def _visible_docs(self, requester: str) -> list[dict[str, Any]]:
        catalog = self.api.catalog
        catalog.ensure_index()
        key = (self.api.visibility(requester), catalog.generation)
        with self._lock:
            hit = self._docs.get(key)
        if hit is None:
            hit = search.visible_documents(self.api.store, key[0])
            with self._lock:
                self._docs = {k: v for k, v in self._docs.items() if k[1] == key[1]}
                self._docs[key] = hit
        return hit

    def browse(
        self,
        requester: str,
        query: str | None = None,
        filters: dict[str, list[str]] | None = None,
        page: int = 1,
        per_page: int = PER_PAGE,
    ) -> Browse:
        """Contracts matching ``query`` (ranked, the search index) and every facet filter, one page."""
        query = (query or "").strip()
        if len(query) > 1000:
            raise UsageError("query must be at most 1000 characters", field="q")
        filters = {k: [v for v in vs if v] for k, vs in (filters or {}).items() if k in FACETS}
        filters = {k: vs for k, vs in filters.items() if vs}
        with self._audited(requester, "catalog_index", "catalog", query[:200] or "*") as entry:
            self._allow(entry, "catalog", "*")
            matched, facets = self._matches(entry.requester, query, filters)
            pages = max(1, -(-len(matched) // per_page))
            page = min(max(1, page), pages)
            items = matched[(page - 1) * per_page : page * per_page]
            entry.details["results"] = len(matched)
            entry.details["filters"] = filters
            capped = bool(query) and len(matched) >= QUERY_CAP
            return Browse(items, len(matched), page, pages, per_page, query, filters, facets, capped)

    def _matches(
        self, requester: str, query: str, filters: dict[str, list[str]]
    ) -> tuple[list[dict[str, Any]], dict[str, list[tuple[str, int]]]]:
        """The matching contracts in order and the facet counts, cached per visibility, index state,
        query and filters (a page of the same search is a slice of the cached list)."""
        docs = self._visible_docs(requester)
        key = (
            self.api.visibility(requester),
            self.api.catalog.generation,
            query,
            tuple(sorted((k, tuple(v)) for k, v in filters.items())),
        )
        with self._lock:
            hit = self._results.get(key)
            if hit is not None:
                self._results.move_to_end(key)
                return hit
        if query:
            by_key = {(d["source_type"], d["object"]): d for d in docs}
            hits = search.search(self.api.store, key[0], query=query, limit=QUERY_CAP)
            docs = [by_key[k] for h in hits if (k := (h["source_type"], h["object"])) in by_key]
        matched = [d for d in docs if _matches(d, filters)]
        facets: dict[str, list[tuple[str, int]]] = {}
        for facet in FACETS:
            others = {k: v for k, v in filters.items() if k != facet}
            pool = matched if facet not in filters else [d for d in docs if _matches(d, others)]
            counts: Counter[str] = Counter()
            for d in pool:
                counts.update(_values(d, facet))
            for chosen in filters.get(facet, []):
                counts.setdefault(chosen, 0)
            facets[facet] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower()))[:30]
        with self._lock:
            self._results[key] = (matched, facets)
            while len(self._results) > RESULT_CACHE:
                self._results.popitem(last=False)
        return matched, facets

    def all_contracts(self, requester: str) -> list[dict[str, Any]]:
        """Every contract summary the requester may see (the static site's client-side index)."""
        with self._audited(requester, "catalog_index", "catalog", "*") as entry:
            self._allow(entry, "catalog", "*")
            docs = self._visible_docs(entry.requester)
            entry.details["results"] = len(docs)
            return docs

    # ----- contract -------------------------------------------------------------------------------
    def contract(self, requester: str, source_type: str, object_name: str, version: str | None) -> dict:
        """The contract page: the API's policy-filtered context plus servers and version history."""
        context = self.api.get_asset_context(source_type, object_name, version, requester=requester)
        asset = self.api.catalog.get(source_type, object_name, context["asset"]["version"])
        history = self._history(source_type, object_name)
        return {
            "context": context,
            "servers": [dict(s) for s in asset.servers],
            "history": history,
            "lineage_node": self._lineage_node(source_type, object_name, history),
            "node_id": asset_node_id(source_type, object_name, str(asset.version)),
            "quality_status": context.get("quality_status"),
            "quality_trend": self._quality_trend(source_type, object_name, context.get("quality_status")),
        }

    def _quality_trend(
        self, source_type: str, object_name: str, status: dict[str, Any] | None
    ) -> dict[str, list[str]]:
        """The last :data:`TREND_LENGTH` statuses of each check the requester sees, oldest first."""
        if not status:
            return {}
        visible = {c["check"] for c in status["checks"]}
        trend: dict[str, list[str]] = {check: [] for check in visible}
        for row in quality_store.recent(self.api.store, source_type=source_type, object_name=object_name):
            statuses = trend.get(row["check_id"])
            if statuses is not None and len(statuses) < TREND_LENGTH:
                statuses.append(row["status"])
        return {check: statuses[::-1] for check, statuses in sorted(trend.items())}

    def _history(self, source_type: str, object_name: str) -> list[dict[str, Any]]:
        manager = self.api.contract_manager
        if not hasattr(manager, "get_contract_history"):
            return []
        try:
            versions = manager.get_contract_history(source_type, object_name)
        except DativoError:
            return []
        return [
            {
                "version": v.version,
                "change_type": v.change_type,
                "author": v.author,
                "timestamp": v.timestamp,
                "previous_version": v.previous_version,
                "forced": v.forced,
                "changes": len(v.changes),
            }
            for v in versions
        ]

    def diff(
        self, requester: str, source_type: str, object_name: str, old_version: str, new_version: str
    ) -> dict[str, Any]:
        """Two versions side by side and each change's verdict; changes to restricted fields keep their
        path and verdict but not their values (or are counted only, when restricted fields are hidden)."""
        resource = f"{source_type}/{object_name}@{old_version}..{new_version}"
        with self._audited(requester, "catalog_diff", "asset", resource) as entry:
            self.api.policy_guard.require_requester(entry)
            old = self._asset(entry, source_type, object_name, old_version)
            new = self._asset(entry, source_type, object_name, new_version)
            policy, who = self.api.policy, entry.requester
            old_ctx = self.api.catalog.views(source_type, object_name, str(old.version)).context(policy, who)
            new_ctx = self.api.catalog.views(source_type, object_name, str(new.version)).context(policy, who)
            restricted = set(old_ctx["schema"]["restricted_fields"]) | set(
                new_ctx["schema"]["restricted_fields"]
            )
            result = self.api.contract_manager.diff(old, new)
            changes, withheld = [], 0
            for change in result.changes:
                item = change.to_dict()
                if _touches(item["path"], restricted):
                    if policy.on_restricted != "redact":
                        withheld += 1
                        continue
                    item = {k: item[k] for k in ("path", "kind", "severity", "effect", "category")}
                    item["message"] = "details withheld by policy"
                    item["withheld"] = True
                changes.append(item)
            suggested = suggested_version(str(old.version), result)
            entry.details["restricted_fields"] = sorted(restricted)
            return {
                "source_type": source_type,
                "object": object_name,
                "old": old_ctx,
                "new": new_ctx,
                "old_version": str(old.version),
                "new_version": str(new.version),
                "change_type": result.change_type,
                "severity": result.severity.label,
                "is_breaking": result.is_breaking,
                "suggested_version": suggested,
                "bump_ok": _version_key(str(new.version)) >= _version_key(suggested),
                "changes": changes,
                "withheld": withheld,
                "rows": _side_by_side(old_ctx["schema"]["fields"], new_ctx["schema"]["fields"]),
            }

    # ----- lineage --------------------------------------------------------------------------------
    def neighbourhood(
        self, requester: str, node_id: str, up: int = 2, down: int = 2, columns: bool = False
    ) -> dict[str, Any]:
        """Nodes and edges within ``up``/``down`` hops of ``node_id`` that the requester may see."""
        for value, what in ((up, "up"), (down, "down")):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DEPTH:
                raise UsageError(f"{what} must be an integer from 0 to {MAX_DEPTH}", field=what)
        with self._audited(requester, "catalog_lineage", "lineage", node_id[:512]) as entry:
            self._allow(entry, "lineage", node_id)
            api, who = self.api, entry.requester
            tracker = api.lineage_tracker
            if tracker is None or not api._node_visible(who, {"id": node_id}):
                raise NotFoundError(f"no lineage node {node_id}", field="node")
            try:
                ups = tracker.get_upstream_lineage(node_id, max_depth=up) if up else []
                downs = tracker.get_downstream_lineage(node_id, max_depth=down) if down else []
                root = tracker.nodes[node_id]
            except (NotFoundError, KeyError):
                raise NotFoundError(f"no lineage node {node_id}", field="node") from None
            nodes = {node_id: {"id": node_id, "type": root.kind, "name": root.name, "depth": 0}}
            edges: dict[tuple[str, str, str], dict[str, Any]] = {}
            withheld = 0
            for hops, direction in ((ups, "upstream"), (downs, "downstream")):
                visible = {node_id}
                for item in sorted(hops, key=lambda i: i["depth"]):
                    node, edge = item["node"], item["edge"]
                    via = edge["to"] if direction == "upstream" else edge["from"]
                    if via not in visible or not api._node_visible(who, {"id": node["id"]}):
                        withheld += 1
                        continue
                    visible.add(node["id"])
                    depth = -item["depth"] if direction == "upstream" else item["depth"]
                    nodes.setdefault(
                        node["id"], {"id": node["id"], "type": node["type"], "name": node["name"]}
                    )["depth"] = depth
                    edges[(edge["from"], edge["to"], edge["type"])] = {
                        "from": edge["from"],
                        "to": edge["to"],
                        "type": edge["type"],
                    }
            out: dict[str, Any] = {
                "root": node_id,
                "nodes": sorted(nodes.values(), key=lambda n: (n["depth"], n["id"])),
                "edges": sorted(edges.values(), key=lambda e: (e["from"], e["to"], e["type"])),
                "withheld": withheld,
            }
            if columns:
                out["columns"] = self._column_edges(who, node_id)
            entry.details["nodes"] = len(nodes)
            return out

    def _column_edges(self, requester: str, node_id: str) -> list[dict[str, Any]]:
        try:
            found = self.api.lineage_tracker.column_lineage(node_id)
        except NotFoundError:
            return []
        out = []
        for edge in found:
            hidden = self._hidden_columns(requester, edge.get("from"), edge.get("to"))
            if {edge.get("from_field"), edge.get("to_field")} & hidden:
                continue
            out.append({k: edge.get(k) for k in ("from", "to", "from_field", "to_field", "transformation")})
        return sorted(out, key=lambda e: tuple(str(e[k]) for k in ("from", "from_field", "to", "to_field")))

    def _hidden_columns(self, requester: str, *node_ids: Any) -> set[str]:
        """Restricted field names of the contracts behind ``node_ids``, when restricted fields are hidden
        (in ``redact`` mode their names show, as on the contract page)."""
        policy = self.api.policy
        if policy.on_restricted == "redact" or not policy.restricted_for(requester):
            return set()
        hidden: set[str] = set()
        for node_id in node_ids:
            key = _contract_key(node_id)
            if key is None:
                continue
            try:
                views = self.api.catalog.views(*key)
            except ContractNotFoundError:
                continue
            hidden |= set(views.context(policy, requester)["schema"]["restricted_fields"])
        return hidden

    def asset_node(self, requester: str, source_type: str, object_name: str) -> str:
        """The lineage node of a contract (see :meth:`_lineage_node`); not found when the requester may
        not see the contract or lineage knows no node of it."""
        with self._audited(requester, "catalog_lineage", "asset", f"{source_type}/{object_name}") as entry:
            self.api.policy_guard.require_requester(entry)
            self._asset(entry, source_type, object_name, None)
            node = self._lineage_node(source_type, object_name, self._history(source_type, object_name))
            if node is None:
                raise NotFoundError(f"no lineage recorded for {source_type}/{object_name}", field="node")
            return node

    def _lineage_node(self, source_type: str, object_name: str, history: list[dict[str, Any]]) -> str | None:
        """The newest version's asset node lineage knows (runs record the version they applied), else
        the contract's source node, else None."""
        tracker = self.api.lineage_tracker
        if tracker is None:
            return None
        candidates = [asset_node_id(source_type, object_name, h["version"]) for h in history]
        candidates.append(f"source://{source_type}/{object_name}")
        try:
            known = tracker.nodes
            return next((c for c in candidates if c in known), None)
        except DativoError:
            return None

    # ----- runs and costs -------------------------------------------------------------------------
    def runs(self, requester: str, tenant: str | None = None, days: int = 30) -> dict[str, Any]:
        """Runs per job (status, rows, duration, cost), daily cost by tenant, job and cost centre, and the
        anomalies of each job's latest run; only the requester's tenants when it is tenant-scoped."""
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
            raise UsageError("days must be an integer from 1 to 366", field="days")
        with self._audited(requester, "catalog_runs", "finops", tenant or "*") as entry:
            self.api.policy_guard.require_requester(entry)
            scope = self.api.policy.tenants_of(entry.requester)
            if tenant is not None and scope is not None and tenant not in scope:
                raise PolicyDenied(f"requester {entry.requester!r} may not see tenant {tenant!r}")
            self._allow(entry, "finops", tenant or "*", tenant=tenant)
            tenants: list[str | None]
            if tenant is not None:
                tenants = [tenant]
            elif scope is not None:
                tenants = list(sorted(scope))  # a scoped requester sees its tenants, one by one
            else:
                tenants = [None]  # everyone's runs
            store, hours = self.api.store, days * 24.0
            costs, anomalies = [], []
            for t in tenants:
                costs += get_recent_runs(t, limit=RUN_LIMIT, since_hours=hours, store=store)
                anomalies += latest_anomalies(t, since_hours=hours, store=store)
            allowed = None if tenant is None and scope is None else set(tenants)
            runs = _joined_runs(self._lineage_runs(allowed), costs)
            entry.details["runs"] = len(runs)
            return {
                "days": days,
                "tenant": tenant,
                "tenants": sorted({r["tenant_id"] for r in runs}),
                "jobs": _by_job(runs),
                "runs": runs[:200],
                "series": _series(costs, anomalies),
                "anomalies": [_anomaly(a) for a in anomalies],
            }

    def _lineage_runs(self, tenants: set[str | None] | None) -> list[dict[str, Any]]:
        tracker = self.api.lineage_tracker
        if tracker is None:
            return []
        try:
            runs = tracker.runs(limit=RUN_LIMIT)
        except DativoError:
            return []
        latest: dict[str, dict[str, Any]] = {}
        for run in runs:  # a run's events (START, then COMPLETE or FAIL): its last one says how it ended
            if tenants is not None and run.get("tenant_id") not in tenants:
                continue
            seen = latest.get(run["run_id"])
            if seen is None or (run.get("event_type") != "START" and seen.get("event_type") == "START"):
                latest[run["run_id"]] = run
        return list(latest.values())

    # ----- audit ----------------------------------------------------------------------------------
    def audit(self, requester: str, limit: int = 200, who: str | None = None) -> list[dict[str, Any]]:
        """The newest decisions (newest first); elevated requesters only."""
        with self._audited(requester, "catalog_audit", "audit", who or "*") as entry:
            self.api.policy_guard.require_requester(entry)
            if not self.is_elevated(entry.requester):
                raise PolicyDenied(
                    f"requester {entry.requester!r} is not elevated: the audit log is for elevated "
                    "requesters only"
                )
            self._allow(entry, "audit", "*")
            rows = audit_store.query(self.api.store, requester=who, limit=limit)
            rows.reverse()
            return rows


def _contract_key(node_id: Any) -> tuple[str, str] | None:
    """``(source, object)`` of an ``asset://`` or ``source://`` node id, else None."""
    if not isinstance(node_id, str):
        return None
    for prefix in ("asset://", "source://"):
        if node_id.startswith(prefix):
            source_type, _, object_name = node_id[len(prefix) :].rsplit("@", 1)[0].partition("/")
            return (source_type, object_name) if source_type and object_name else None
    return None


def _touches(path: str, restricted: set[str]) -> bool:
    """Whether a change path (``email``, ``address.city``, ``customers.email``) is a restricted field."""
    parts = path.replace("[]", "").split(".")
    prefixes = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    tails = {".".join(parts[i:]) for i in range(len(parts))}
    return bool((prefixes | tails) & restricted)


def _version_key(version: str) -> tuple[int, ...]:
    core = version.split("-", 1)[0].split("+", 1)[0]
    try:
        return tuple(int(p) for p in core.split("."))
    except ValueError:
        return (0,)


def _flat(fields: list[dict[str, Any]], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for f in fields:
        path = f"{prefix}{f.get('name')}"
        out.append((path, f))
        for key in ("fields", "properties"):
            if isinstance(f.get(key), list):
                out += _flat(f[key], f"{path}.")
        items = f.get("items")
        if isinstance(items, dict) and isinstance(items.get("fields") or items.get("properties"), list):
            out += _flat(items.get("fields") or items.get("properties") or [], f"{path}[].")
    return out


def _side_by_side(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Schema rows aligned by field path: ``{path, old, new, status}`` (added, removed, changed, same)."""
    old_map, new_map = dict(_flat(old)), dict(_flat(new))
    order = [p for p, _ in _flat(new)] + [p for p, _ in _flat(old) if p not in new_map]
    rows = []
    for path in order:
        a, b = old_map.get(path), new_map.get(path)
        status = "added" if a is None else "removed" if b is None else "same" if a == b else "changed"
        rows.append({"path": path, "depth": path.count("."), "old": a, "new": b, "status": status})
    return rows


def _joined_runs(lineage: list[dict[str, Any]], costs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lineage runs (status, rows) with the cost record of the same job closest in time; cost records
    without a lineage run are listed too."""
    by_job: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in costs:
        by_job.setdefault((c["tenant_id"], c["job_name"]), []).append(c)
    used: set[str] = set()
    out = []
    for run in lineage:
        metrics = run.get("metrics") or {}
        when = _stamp(run.get("timestamp"))
        best, gap = None, RUN_MATCH_SECONDS
        for c in by_job.get((run["tenant_id"], run["job_name"]), []):
            end = _stamp(c.get("end_time"))
            if when and end and c["run_id"] not in used and abs((end - when).total_seconds()) <= gap:
                best, gap = c, abs((end - when).total_seconds())
        if best is not None:
            used.add(best["run_id"])
        out.append(
            _run_row(
                run["tenant_id"], run["job_name"], run.get("status"), run.get("timestamp"), metrics, best
            )
        )
    for c in costs:
        if c["run_id"] not in used:
            out.append(_run_row(c["tenant_id"], c["job_name"], None, c.get("end_time"), {}, c))
    return sorted(out, key=lambda r: r["finished_at"] or "", reverse=True)


def _run_row(
    tenant: str, job: str, status: Any, finished: Any, metrics: dict[str, Any], cost: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "job_name": job,
        "status": status or "unknown",
        "finished_at": finished,
        "rows_read": metrics.get("records_read"),
        "rows_written": metrics.get("records_written"),
        "rows_quarantined": metrics.get("records_quarantined"),
        "duration_seconds": cost.get("execution_time_seconds") if cost else None,
        "cost_usd": cost["cost_breakdown_usd"]["total"] if cost else None,
        "cost_center": cost.get("cost_center") if cost else None,
    }


def _by_job(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    jobs: dict[tuple[str, str], dict[str, Any]] = {}
    for r in runs:
        job = jobs.setdefault(
            (r["tenant_id"], r["job_name"]),
            {
                "tenant_id": r["tenant_id"],
                "job_name": r["job_name"],
                "runs": 0,
                "cost_usd": 0.0,
                "last_status": r["status"],
                "last_run_at": r["finished_at"],
                "failed": 0,
            },
        )
        job["runs"] += 1
        job["cost_usd"] += r["cost_usd"] or 0.0
        job["failed"] += r["status"] in ("failed", "fail", "error", "FAIL")
    return sorted(jobs.values(), key=lambda j: (j["tenant_id"], j["job_name"]))


def _series(costs: list[dict[str, Any]], anomalies: list[dict[str, Any]]) -> dict[str, Any]:
    """Daily cost per tenant, job and cost centre (``{dimension: {name: {day: usd}}}``), days sorted,
    and the (dimension, name, day) points an anomaly falls on."""
    days: set[str] = set()
    out: dict[str, dict[str, dict[str, float]]] = {"tenant": {}, "job": {}, "cost_center": {}}
    for c in costs:
        day = (c.get("start_time") or "")[:10]
        if not day:
            continue
        days.add(day)
        for dim, name in (
            ("tenant", c["tenant_id"]),
            ("job", f"{c['tenant_id']}/{c['job_name']}"),
            ("cost_center", c.get("cost_center") or "(none)"),
        ):
            bucket = out[dim].setdefault(name, {})
            bucket[day] = round(bucket.get(day, 0.0) + c["cost_breakdown_usd"]["total"], 9)
    marks = sorted(
        {
            (f"{a['tenant_id']}/{a['job_name']}", (a.get("run_started_at") or "")[:10])
            for a in anomalies
            if a.get("run_started_at")
        }
    )
    return {
        "days": _every_day(days),
        "by": {dim: {k: out[dim][k] for k in sorted(out[dim])} for dim in out},
        "anomalies": [{"job": job, "day": day} for job, day in marks],
    }


def _every_day(days: set[str]) -> list[str]:
    """Every day from the first to the last of ``days`` (ISO dates), so a chart's axis keeps time's gaps."""
    if not days:
        return []
    first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def _anomaly(a: dict[str, Any]) -> dict[str, Any]:
    keep = ("tenant_id", "job_name", "run_id", "run_started_at", "type", "metric", "severity", "message")
    return {k: a.get(k) for k in keep if k in a}
