"""Lineage tracking: a persisted graph from sources through contracts and Iceberg to dbt and exposures.

``LineageTracker()`` writes to the workspace's metadata store (``DATIVO_DATABASE_URL``, else
``.dativo/dativo.db`` under ``DATIVO_HOME`` or the current directory), so the graph survives restarts and
is shared by every process. Node ids are stable: ``source://stripe/customers``,
``asset://stripe/customers@1.0.0``, ``transformation://stripe/customers/schema_validation``,
``target://iceberg/bronze/stripe_customers``, ``dbt://model.shop.stg_customers``.
Runs become OpenLineage RunEvents validated against the spec and sent through openlineage-python's
transports when configured the standard way (``openlineage.yml``, ``OPENLINEAGE_URL``, ...).

dbt usage (for the manifest import and the registry's usage-aware removal rule)::

    tracker.record_model_columns("model.shop.stg_customers", "stripe", "customers", ["id", "email"])
    tracker.column_consumers("stripe", "customers", "email")   # -> ["model.shop.stg_customers"]
    StoreUsageSource().consumers("stripe", "customers", "email")  # same, as a UsageSource, except that
    # staging models dativo generated (imported with generated_by="dativo") are looked through

Code written against the reference implementation runs too: ``LineageTracker(lineage_dir=PATH)`` (a
graph of its own under that folder), ``transformation_name=``/``table_name=`` keywords,
``LineageNode(node_id=, node_type=, name=, version=)`` and ``LineageEdge(from_node_id=, to_node_id=,
edge_type=)``.

Public face: the machinery lives in :mod:`dativo_ingest.lineage_graph` (packages import from there).
"""

from dativo_ingest.lineage_graph.model import ColumnEdge, LineageEdge, LineageNode
from dativo_ingest.lineage_graph.tracker import LineageTracker
from dativo_ingest.lineage_graph.usage import StoreUsageSource, UsageSource
from dativo_ingest.lineage_graph.validation import validate_event

__all__ = [
    "ColumnEdge",
    "LineageEdge",
    "LineageNode",
    "LineageTracker",
    "StoreUsageSource",
    "UsageSource",
    "validate_event",
]
