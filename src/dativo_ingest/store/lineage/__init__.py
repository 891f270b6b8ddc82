"""Lineage in the metadata store: the tables (:mod:`.tables`) and every read, write and walk of them
(:mod:`.repository`, :class:`GraphRepository`)."""

from dativo_ingest.store.lineage.repository import GraphRepository
from dativo_ingest.store.lineage.tables import (
    lineage_column_edges,
    lineage_edges,
    lineage_nodes,
    lineage_runs,
)

__all__ = ["GraphRepository", "lineage_column_edges", "lineage_edges", "lineage_nodes", "lineage_runs"]
