"""Which dbt models read which columns of a source: the registry's usage-aware removal rule asks here.

Staging models dativo generated (recorded by ``dativo dbt import-manifest`` with ``generated_by:
dativo``) are transparent for that rule: they select every contract column and are regenerated from the
contract, so they are not consumers themselves. A column is in use when a model downstream of them reads
it (column-level reads) or when an exposure depends on such a staging model directly (conservatively,
every column). :func:`consumers` without ``transparent`` lists every model, generated or not.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from dativo_ingest.lineage_graph.model import DBT_MODEL, DBT_SNAPSHOT, EXPOSURE, source_id
from dativo_ingest.lineage_graph.traversal import impacted
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.lineage.repository import GraphRepository


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
        """Consumers of ``field``, looking through the staging models dativo generated."""
        return consumers(self.repository, source_type, object_name, field, transparent=True)


#: Node attribute ``dativo dbt import-manifest`` sets on the staging models dativo generated.
GENERATED_BY = "generated_by"


def is_generated(node: dict) -> bool:
    """True for a (node dict of a) dbt model dativo generated from a contract."""
    return node["type"] == DBT_MODEL and node["attributes"].get(GENERATED_BY) == "dativo"


def consumers(
    repo: GraphRepository,
    source_type: str,
    object_name: str,
    field: str | None,
    *,
    transparent: bool = False,
) -> list[str]:
    """dbt models downstream of the source (of its column ``field``), as dbt unique ids, sorted.

    ``transparent``: generated staging models are left out, and exposures depending on one directly are
    listed instead (see the module docstring).
    """
    start = source_id(source_type, object_name)
    if repo.get_node(start) is None:
        return []
    found = [r["node"] for r in impacted(repo, start, field)]
    chosen = [
        n for n in found if n["type"] in (DBT_MODEL, DBT_SNAPSHOT) and not (transparent and is_generated(n))
    ]
    if transparent:
        generated = sorted(n["id"] for n in found if is_generated(n))
        direct = {e.to_id for e in repo.out_edges(generated)} if generated else set()
        chosen += [n for n in found if n["type"] == EXPOSURE and n["id"] in direct]
    return sorted({n["attributes"].get("unique_id") or n["id"] for n in chosen})
