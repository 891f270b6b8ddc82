"""Which dbt models read which columns of a source: the registry's usage-aware removal rule asks here."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from dativo_ingest.lineage_graph.model import DBT_MODEL, source_id
from dativo_ingest.lineage_graph.repository import GraphRepository
from dativo_ingest.lineage_graph.traversal import impacted
from dativo_ingest.store.database import MetadataStore


@runtime_checkable
class UsageSource(Protocol):
    """Anything that can say who consumes a contract's column."""

    def consumers(self, source_type: str, object_name: str, field: str) -> list[str]:
        """Sorted dbt model ids (``model.<project>.<name>``) that depend on ``field``; empty when none."""
        ...


class StoreUsageSource:
    """:class:`UsageSource` backed by the lineage tables of a metadata store."""

    def __init__(self, store: MetadataStore | str | None = None) -> None:
        self._store = store

    @property
    def repository(self) -> GraphRepository:
        if not isinstance(self._store, MetadataStore):
            self._store = MetadataStore(self._store) if self._store else MetadataStore.for_workspace()
        return GraphRepository(self._store)

    def consumers(self, source_type: str, object_name: str, field: str) -> list[str]:
        return consumers(self.repository, source_type, object_name, field)


def consumers(repo: GraphRepository, source_type: str, object_name: str, field: str | None) -> list[str]:
    """dbt models downstream of the source (of its column ``field``), as dbt unique ids, sorted."""
    start = source_id(source_type, object_name)
    if repo.get_node(start) is None:
        return []
    found = impacted(repo, start, field)
    return sorted(
        {
            r["node"]["attributes"].get("unique_id") or r["node"]["id"]
            for r in found
            if r["node"]["type"] == DBT_MODEL
        }
    )
