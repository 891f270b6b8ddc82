"""AIContextAPI, the service behind :mod:`dativo_ingest.ai_context_api` (its public face): one policy
decision and one audit row per call, over the catalog (:mod:`dativo_ingest.context.catalog`) and the
lineage and FinOps adapters (:mod:`dativo_ingest.context.sources`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from dativo_ingest.context import sources
from dativo_ingest.context.catalog import Catalog, default_registry
from dativo_ingest.errors import ContractNotFoundError, PolicyDenied, UsageError
from dativo_ingest.logging import get_logger
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.guard import AuditEntry, PolicyGuard
from dativo_ingest.policy.rules import AccessRequest
from dativo_ingest.policy.sql import check_sql as _check_sql
from dativo_ingest.policy.sql import enforce_sql as _enforce_sql
from dativo_ingest.policy.views import ContextViews, quality_status_view
from dativo_ingest.sla import sla_status
from dativo_ingest.store import quality, search
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.search import Visibility

__all__ = ["AIContextAPI"]

logger = get_logger("dativo_ingest.ai_context_api")  # logged under the public name, as before
MAX_LIMIT = 100
DEFAULT_COST_HOURS = 24 * 30


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _labels(values: Any, what: str) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple, set)) or not all(isinstance(v, str) for v in values):
        raise UsageError(f"{what} must be a string or a list of strings", field=what)
    return [v for v in values if v.strip()] or None


class AIContextAPI:
    """Policy-guarded metadata access over the contract registry, lineage and FinOps.

    ``contract_manager``: anything with ``get_contract(source, object, version=None)`` and
    ``list_contracts()`` (default: the workspace registry). ``lineage_tracker``: a LineageTracker
    (default: one on the same store). ``policy_guard``:
    a :class:`PolicyGuard` (default: everyone may ask, PII/SENSITIVE redacted). ``store``: the metadata
    store for audit and search (default: the workspace's). ``channel`` names the interface in the audit
    log (python, http, mcp).
    """

    def __init__(
        self,
        contract_manager: Any = None,
        lineage_tracker: Any = None,
        policy_guard: PolicyGuard | None = None,
        *,
        store: Any = None,
        channel: str = "python",
        index_refresh_seconds: float = 1.0,
    ) -> None:
        self._registry = contract_manager
        self._lineage = lineage_tracker
        self._lineage_resolved = lineage_tracker is not None
        self.policy_guard = policy_guard or PolicyGuard()
        self._store = store
        self.channel = channel
        self.index_refresh_seconds = index_refresh_seconds
        self._catalog: Catalog | None = None
        self._run_jobs: sources.RunJobs | None = None
        self._lineage_cache = sources.LineageCache(index_refresh_seconds)

    # ----- components (resolved lazily: constructing writes nothing) -------------------------------
    @property
    def store(self) -> Any:
        if self._store is None:
            self._store = self.policy_guard._store or MetadataStore.for_workspace()
        elif isinstance(self._store, str):
            self._store = MetadataStore(self._store)
        self.policy_guard.bind_store(self._store)
        return self._store

    @property
    def contract_manager(self) -> Any:
        """The contract registry answers come from (the workspace's ContractManager unless given)."""
        if self._registry is None:
            self._registry = default_registry()
        return self._registry

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(self.contract_manager, self.store, self.index_refresh_seconds)
        return self._catalog

    @property
    def lineage_tracker(self) -> Any:
        if not self._lineage_resolved:
            self._lineage = sources.default_lineage(self.store)
            self._lineage_resolved = True
        return self._lineage

    @property
    def policy(self) -> PolicyConfig:
        return self.policy_guard.policy

    def _audited(self, requester: Any, action: str, resource_type: str, resource_id: str) -> Any:
        self.store  # noqa: B018  (binds the guard to our store before anything is recorded)
        return self.policy_guard.audited(requester, action, resource_type, resource_id, self.channel)

    def visibility(self, requester: str) -> Visibility:
        """What ``requester`` may see, in the search index's terms."""
        p = self.policy
        return Visibility(
            restricted=p.restricted_for(requester), mode=p.on_restricted, tenants=p.tenants_of(requester)
        )

    def _authorize_asset(
        self, entry: AuditEntry, asset: AssetDefinition | ContextViews, not_found: str
    ) -> None:
        decision = self.policy_guard.evaluate(
            AccessRequest(
                entry.requester,
                entry.action,
                "asset",
                entry.resource_id,
                frozenset(asset.classifications),
                asset.tenant,
            )
        )
        if not decision.allowed and decision.rule == "tenant_scope":
            # another tenant's asset is answered exactly like an unknown one (no existence, no tenant
            # name); the audit row keeps the real decision
            entry.decide(decision)
            entry.details["answered"] = "not_found"
            raise ContractNotFoundError(not_found, field="object")
        self.policy_guard.enforce(entry, decision)

    def _load(
        self,
        entry: AuditEntry,
        source_type: str,
        object_name: str,
        version: str | None,
        *,
        views: bool = False,
    ) -> Any:
        """The contract (or, with ``views``, its cached :class:`ContextViews`), once the requester may
        see it."""
        for value, what in ((source_type, "source_type"), (object_name, "object_name")):
            if not isinstance(value, str) or not value.strip():
                raise UsageError(f"{what} must be a non-empty string", field=what)
        if version is not None and not isinstance(version, str):
            raise UsageError("version must be a string such as 1.0.0", field="version")
        self.policy_guard.require_requester(entry)
        not_found = f"no contract {source_type}/{object_name}" + (f" version {version}" if version else "")
        asset: AssetDefinition | ContextViews
        try:
            if views:
                asset = self.catalog.views(source_type, object_name, version)
            else:
                asset = self.catalog.get(source_type, object_name, version)
        except ContractNotFoundError as exc:
            # the registry's message names its directory: keep that in the server log only
            logger.info("contract not found", extra={"fields": {"error": str(exc)}})
            raise ContractNotFoundError(not_found, field=exc.field or "object") from None
        self._authorize_asset(entry, asset, not_found)
        return asset

    # ----- context ----------------------------------------------------------------------------------
    def get_asset_context(
        self,
        source_type: str,
        object_name: str,
        version: str | None = None,
        requester: str | None = None,
        *,
        lineage_depth: int = 5,
        cost_hours: float = DEFAULT_COST_HOURS,
    ) -> dict[str, Any]:
        """Schema, governance, description, quality, lineage, cost and dbt names of one contract."""
        resource = f"{source_type}/{object_name}" + (f"@{version}" if version else "")
        with self._audited(requester, "get_asset_context", "asset", resource) as entry:
            asset = self._load(entry, source_type, object_name, version, views=True)
            context = asset.context(self.policy, entry.requester)
            lineage = self._lineage_view(entry.requester, asset, lineage_depth)
            context["lineage"] = {
                "upstream": lineage["upstream"],
                "downstream": lineage["downstream"],
                "withheld": lineage["withheld"],
            }
            context["finops"] = self._asset_costs(entry.requester, asset, cost_hours)
            context["sla_status"] = sla_status(self.store, asset.sla)
            context["quality_status"] = self._quality_status(asset, context["schema"])
            context["accessed_at"] = _now()
            context["accessed_by"] = entry.requester
            context["policy"] = {
                "decision": entry.reason,
                "on_restricted": self.policy.on_restricted,
                "restricted_fields": context["schema"]["restricted_fields"],
            }
            entry.resource_id = f"{source_type}/{object_name}@{asset.version}"
            entry.details["restricted_fields"] = context["schema"]["restricted_fields"]
            return context

    def get_quality_status(
        self,
        source_type: str,
        object_name: str,
        version: str | None = None,
        requester: str | None = None,
    ) -> dict[str, Any]:
        """The newest result of each check of a contract (``contract test`` and ingestion runs)."""
        resource = f"{source_type}/{object_name}" + (f"@{version}" if version else "")
        with self._audited(requester, "get_quality_status", "asset", resource) as entry:
            asset = self._load(entry, source_type, object_name, version, views=True)
            schema = asset.context(self.policy, entry.requester)["schema"]
            entry.resource_id = f"{source_type}/{object_name}@{asset.version}"
            names = {"source_type": asset.source_type, "object": asset.object_name, "version": asset.version}
            return {"asset": names, "quality_status": self._quality_status(asset, schema)}

    def _quality_status(self, asset: Any, schema: dict[str, Any]) -> dict[str, Any] | None:
        rows = quality.latest(self.store, source_type=asset.source_type, object_name=asset.object_name)
        return quality_status_view(rows, schema)

    def get_lineage_context(
        self,
        source_type: str,
        object_name: str,
        version: str | None = None,
        requester: str | None = None,
        max_depth: int = 5,
    ) -> dict[str, Any]:
        """Upstream and downstream lineage of a contract's asset node (node ids, kinds and names only)."""
        if isinstance(max_depth, bool) or not isinstance(max_depth, int) or not 1 <= max_depth <= 50:
            raise UsageError("max_depth must be an integer from 1 to 50", field="max_depth")
        resource = f"{source_type}/{object_name}" + (f"@{version}" if version else "")
        with self._audited(requester, "get_lineage", "asset", resource) as entry:
            asset = self._load(entry, source_type, object_name, version)
            view = self._lineage_view(entry.requester, asset, max_depth)
            return {
                "asset": {
                    "source_type": asset.source_type,
                    "object": asset.object_name,
                    "version": asset.version,
                },
                "node_id": sources.asset_node_id(asset.source_type, asset.object_name, asset.version),
                **view,
            }

    def _lineage_view(self, requester: str, asset: AssetDefinition, depth: int) -> dict[str, Any]:
        """Lineage of the asset's node as ``requester`` may see it.

        A node is withheld when it is an asset the requester may not see, or when the recorded runs that
        touched it all belong to tenants outside the requester's tenants (tenant scoping); anything
        reached only through a withheld node is withheld too. Answers carry only the count (``withheld``).
        """
        root = sources.asset_node_id(asset.source_type, asset.object_name, asset.version)
        view = self._lineage_cache.get(self.lineage_tracker, root, depth)
        withheld = 0
        for direction in ("upstream", "downstream"):
            kept: list[dict[str, Any]] = []
            visible = {root}
            for node in sorted(view[direction], key=lambda n: n.get("depth") or 0):
                via = node.pop(sources.VIA, None)
                if via in visible and self._node_visible(requester, node):
                    visible.add(node["id"])
                    kept.append(node)
                else:
                    withheld += 1
            view[direction] = kept
        view["withheld"] = withheld
        return view

    def _node_visible(self, requester: str, node: dict[str, Any]) -> bool:
        """Asset nodes of contracts the requester may not see, and nodes only other tenants' runs touched,
        are left out of lineage answers."""
        node_id = node.get("id") or ""
        tenants = self.policy.tenants_of(requester)
        if tenants is not None:
            owners = self._runs().tenants_of(node_id)
            if owners and not owners & set(tenants):
                return False
        if not node_id.startswith("asset://"):
            return True

        key = node_id[len("asset://") :].rsplit("@", 1)[0]
        doc = search.document(self.store, key)
        if doc is None:
            return tenants is None  # an asset no longer registered: its tenant is unknown
        classes = frozenset(c for c in doc["classes"].split("|") if c)
        decision = self.policy_guard.evaluate(
            AccessRequest(requester, "lineage", "asset", key, classes, doc["tenant"])
        )
        return decision.allowed

    def _runs(self) -> sources.RunJobs:
        if self._run_jobs is None:
            self._run_jobs = sources.RunJobs(self.lineage_tracker, self.index_refresh_seconds)
        return self._run_jobs

    def _asset_costs(self, requester: str, asset: AssetDefinition, hours: float) -> dict[str, Any] | None:
        ids = {
            sources.asset_node_id(asset.source_type, asset.object_name, asset.version),
            f"source://{asset.source_type}/{asset.object_name}",
        }
        tenants = self.policy.tenants_of(requester)
        jobs = [(t, j) for t, j in self._runs().jobs_touching(ids) if tenants is None or t in tenants]
        return sources.asset_costs(self.store, jobs, hours)

    def get_finops_context(
        self,
        tenant_id: str | None = None,
        time_range_hours: float = DEFAULT_COST_HOURS,
        requester: str | None = None,
    ) -> dict[str, Any] | None:
        """Costs of stored runs of a tenant (or all) in the last ``time_range_hours``; None when FinOps is
        unavailable. Besides the summary's own keys it carries ``cost_summary`` (totals and breakdown) and
        ``resource_usage``, the shape the reference implementation answered with."""
        if (
            isinstance(time_range_hours, bool)
            or not isinstance(time_range_hours, (int, float))
            or not 0 < time_range_hours <= 24 * 366 * 5
        ):
            raise UsageError(
                "time_range_hours must be a number of hours from 0 to 43920", field="time_range_hours"
            )
        with self._audited(requester, "get_finops", "finops", tenant_id or "*") as entry:
            self.policy_guard.require_requester(entry)
            tenants = self.policy.tenants_of(entry.requester)
            if tenants is not None and tenant_id is None:
                raise PolicyDenied(
                    f"requester {entry.requester!r} must name one of its tenants", requester=entry.requester
                )
            self.policy_guard.enforce(
                entry,
                self.policy_guard.evaluate(
                    AccessRequest(
                        entry.requester, "get_finops", "finops", tenant_id or "*", frozenset(), tenant_id
                    )
                ),
            )
            return sources.finops_context(
                sources.cost_summary(self.store, tenant_id, float(time_range_hours))
            )

    # ----- search -----------------------------------------------------------------------------------
    def search_assets(
        self,
        query: str | None = None,
        classification: list[str] | None = None,
        tags: list[str] | None = None,
        owner: str | None = None,
        domain: str | None = None,
        requester: str | None = None,
        limit: int = 10,
    ) -> list[dict[str, Any]]:
        """Contracts matching ``query`` (ranked) and every given filter, among those the requester may see."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise UsageError(f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")
        if query is not None and (not isinstance(query, str) or len(query) > 1000):
            raise UsageError("query must be a string of at most 1000 characters", field="query")
        for value, what in ((owner, "owner"), (domain, "domain")):
            if value is not None and not isinstance(value, str):
                raise UsageError(f"{what} must be a string", field=what)
        classes, tag_list = _labels(classification, "classification"), _labels(tags, "tags")
        with self._audited(requester, "search_assets", "catalog", (query or "")[:200]) as entry:
            self.policy_guard.require_requester(entry)
            self.policy_guard.enforce(
                entry,
                self.policy_guard.evaluate(AccessRequest(entry.requester, "search_assets", "catalog", "*")),
            )
            self.catalog.ensure_index()
            hits = search.search(
                self.store,
                self.visibility(entry.requester),
                query=query,
                classification=classes,
                tags=tag_list,
                owner=owner,
                domain=domain,
                limit=limit,
            )
            entry.details["results"] = len(hits)
            entry.details["filters"] = {
                k: v
                for k, v in {
                    "classification": classes,
                    "tags": tag_list,
                    "owner": owner,
                    "domain": domain,
                }.items()
                if v
            }
            return hits

    def refresh_index(self) -> int:
        """Synchronise the search index with the registry now; returns how many contracts were indexed."""
        return self.catalog.sync()

    # ----- SQL --------------------------------------------------------------------------------------
    def _resolver(self) -> Any:
        catalog = self.catalog
        catalog.ensure_index()
        return catalog.resolve_table

    def check_sql(self, sql: str, requester: str | None = None, dialect: str | None = None) -> dict[str, Any]:
        """Violations of ``sql`` against the contracts of the tables it reads (see policy.sql)."""
        with self._audited(requester, "check_sql", "sql", _sql_id(sql)) as entry:
            self.policy_guard.require_requester(entry)
            report = _check_sql(sql, self._resolver(), self.policy, entry.requester, dialect)
            self._audit_sql(entry, report)
            return report.to_dict()

    def enforce_sql(
        self, sql: str, requester: str | None = None, dialect: str | None = None
    ) -> dict[str, Any]:
        """The query rewritten to comply (``sql`` key), or :class:`PermissionError` listing the reasons."""
        with self._audited(requester, "enforce_sql", "sql", _sql_id(sql)) as entry:
            self.policy_guard.require_requester(entry)
            report = _enforce_sql(sql, self._resolver(), self.policy, entry.requester, dialect)
            self._audit_sql(entry, report)
            if not report.allowed:
                raise PolicyDenied(
                    "Query refused: " + "; ".join(report.reasons),
                    requester=entry.requester,
                    reasons=report.reasons,
                )
            return report.to_dict()

    @staticmethod
    def _audit_sql(entry: AuditEntry, report: Any) -> None:
        entry.resource_id = (
            ",".join(sorted({t["contract"] or t["table"] for t in report.tables}))[:512] or "-"
        )
        entry.details["violations"] = sorted({v.kind for v in report.violations})
        entry.allowed = report.allowed
        entry.outcome = "allowed" if report.allowed else "denied"
        entry.reason = "compliant" if report.compliant else ("; ".join(report.reasons) or "enforceable")


def _sql_id(sql: Any) -> str:
    text = sql if isinstance(sql, str) else repr(sql)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
