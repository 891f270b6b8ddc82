"""Downstream impact of a contract change, from the metadata store: who reads the changed columns, and
what loading the contract cost.

Consumers come from the lineage graph (column-level where the dbt manifest import recorded it): the dbt
models, snapshots and exposures downstream of each changed column, with the owner the manifest gives
(``meta.owner`` or the model's group owner; an exposure's ``owner``). Staging models dativo generated are
looked through, as the usage-aware removal rule does: they are regenerated from the contract. Costs are the
FinOps history of every job whose recorded runs loaded a version of the contract, over a window of days
ending with ``today``. Reading never creates a store: a workspace with no history has no impact to show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from dativo_ingest.finops.calculator import from_nano
from dativo_ingest.finops.records import iso
from dativo_ingest.finops.tracker import resolve_store
from dativo_ingest.lineage_graph.model import DBT_SNAPSHOT, EXPOSURE, asset_id, source_id
from dativo_ingest.lineage_graph.traversal import impacted
from dativo_ingest.lineage_graph.usage import is_generated
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.finops import select_runs
from dativo_ingest.store.lineage.repository import GraphRepository

#: Days of FinOps history the impact shows.
COST_DAYS = 30
_KIND_ORDER = {"exposure": 0, "model": 1, "snapshot": 2}


@dataclass(frozen=True)
class Consumer:
    """A dbt model, snapshot or exposure that reads changed columns of the contract."""

    unique_id: str
    kind: str  # model, snapshot or exposure
    name: str
    owner: str | None = None
    type: str | None = None  # an exposure's type (dashboard, notebook, ml, ...)
    url: str | None = None
    columns: tuple[str, ...] = ()  # the changed contract columns it reads ("*": the whole contract)
    changes: tuple[str, ...] = ()  # ids of the changes that reach it

    def to_dict(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "kind": self.kind,
            "name": self.name,
            "owner": self.owner,
            "type": self.type,
            "url": self.url,
            "columns": list(self.columns),
            "changes": list(self.changes),
        }


@dataclass(frozen=True)
class JobCost:
    """What one job that loads the contract cost over the window."""

    tenant_id: str
    job_name: str
    runs: int
    cost_usd: Decimal
    last_run_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "job_name": self.job_name,
            "runs": self.runs,
            "cost_usd": str(self.cost_usd),
            "last_run_at": self.last_run_at,
        }


@dataclass
class Impact:
    """Consumers of the changed columns and the window's cost of the jobs loading the contract."""

    since: str  # the window's start (inclusive, UTC)
    until: str  # its end (exclusive)
    known: bool  # the lineage store knows the contract's source
    consumers: list[Consumer] = field(default_factory=list)
    jobs: list[JobCost] = field(default_factory=list)

    @property
    def first_day(self) -> str:
        return self.since[:10]

    @property
    def last_day(self) -> str:
        until = datetime.fromisoformat(self.until.replace("Z", "+00:00"))
        return (until - timedelta(days=1)).date().isoformat()

    @property
    def days(self) -> int:
        start = datetime.fromisoformat(self.since.replace("Z", "+00:00"))
        end = datetime.fromisoformat(self.until.replace("Z", "+00:00"))
        return (end - start).days

    @property
    def cost_usd(self) -> Decimal:
        return sum((j.cost_usd for j in self.jobs), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "lineage_known": self.known,
            "consumers": [c.to_dict() for c in self.consumers],
            "cost": {
                "since": self.since,
                "until": self.until,
                "currency": "USD",
                "total_usd": str(self.cost_usd),
                "jobs": [j.to_dict() for j in self.jobs],
            },
        }


def window(today: date, days: int = COST_DAYS) -> tuple[datetime, datetime]:
    """``[since, until)``: the ``days`` whole UTC days ending with ``today``."""
    until = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    return until - timedelta(days=days), until


class ImpactReader:
    """Reads impact from a metadata store (default: the workspace's, when it exists)."""

    def __init__(self, store: MetadataStore | str | None = None) -> None:
        self.store: MetadataStore | None = resolve_store(store, reading=True)

    def impact(
        self,
        source_type: str | None,
        object_name: str,
        columns: dict[str, list[str]],
        today: date,
    ) -> Impact:
        """Impact of changes on ``columns`` (column -> change ids; ``"*"``: the whole contract)."""
        since, until = window(today)
        result = Impact(iso(since), iso(until), known=False)
        if self.store is None or not source_type:
            return result
        repo = GraphRepository(self.store)
        start = source_id(source_type, object_name)
        result.known = repo.get_node(start) is not None
        if result.known:
            result.consumers = _consumers(repo, start, columns)
        jobs = repo.jobs_with_node_prefix(asset_id(source_type, object_name, "0").rpartition("@")[0] + "@")
        result.jobs = [_cost(self.store, tenant, job, since, until) for tenant, job in jobs]
        return result


def _consumers(repo: GraphRepository, start: str, columns: dict[str, list[str]]) -> list[Consumer]:
    reached: dict[str, dict[str, Any]] = {}
    for column in sorted(columns):
        for row in impacted(repo, start, None if column == "*" else column):
            node = row["node"]
            if is_generated(node):
                continue
            entry = reached.setdefault(node["id"], {"node": node, "columns": set(), "changes": set()})
            entry["columns"].add(column)
            entry["changes"].update(columns[column])
    found = [_consumer(e["node"], e["columns"], e["changes"]) for e in reached.values()]
    return sorted(found, key=lambda c: (_KIND_ORDER.get(c.kind, 9), c.unique_id))


def _consumer(node: dict[str, Any], columns: Iterable[str], changes: Iterable[str]) -> Consumer:
    attributes = node.get("attributes") or {}
    kind = {EXPOSURE: "exposure", DBT_SNAPSHOT: "snapshot"}.get(node["type"], "model")
    return Consumer(
        unique_id=str(attributes.get("unique_id") or node["id"]),
        kind=kind,
        name=str(node.get("name") or node["id"]),
        owner=attributes.get("owner"),
        type=attributes.get("type") if kind == "exposure" else None,
        url=attributes.get("url"),
        columns=tuple(sorted(columns)),
        changes=tuple(sorted(changes)),
    )


def _cost(store: MetadataStore, tenant: str, job: str, since: datetime, until: datetime) -> JobCost:
    runs = select_runs(store, tenant_id=tenant, job_name=job, since=since, until=until)
    total = sum((int(r["total_nusd"]) for r in runs), 0)
    last = max((r["started_at"] for r in runs), default=None)
    shown = iso(last.replace(microsecond=0)) if last else None
    return JobCost(tenant, job, len(runs), from_nano(total), shown)
