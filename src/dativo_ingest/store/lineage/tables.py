"""Lineage tables: nodes, node-level edges, column-level edges and recorded runs.

Node ids are stable strings (``source://stripe/customers``); attributes are JSON text so the schema
stays the same on SQLite and PostgreSQL. ``lineage_edges`` is keyed ``(src_id, dst_id, edge_type)`` so
downstream walks use the primary key and upstream walks use ``ix_lineage_edges_dst``.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from dativo_ingest.store.database import create_tables, metadata, migration

ID = 512

lineage_nodes = Table(
    "lineage_nodes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(ID), nullable=False),
    Column("attributes", Text, nullable=False, default="{}"),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index("ix_lineage_nodes_kind", "kind"),
)

lineage_edges = Table(
    "lineage_edges",
    metadata,
    Column("src_id", String(ID), ForeignKey("lineage_nodes.id", ondelete="CASCADE"), primary_key=True),
    Column("dst_id", String(ID), ForeignKey("lineage_nodes.id", ondelete="CASCADE"), primary_key=True),
    Column("edge_type", String(64), primary_key=True),
    Column("attributes", Text, nullable=False, default="{}"),
    Column("created_at", String(40), nullable=False),
    Index("ix_lineage_edges_dst", "dst_id", "src_id"),
)

lineage_column_edges = Table(
    "lineage_column_edges",
    metadata,
    Column("src_id", String(ID), ForeignKey("lineage_nodes.id", ondelete="CASCADE"), primary_key=True),
    Column("src_field", String(ID), primary_key=True),
    Column("dst_id", String(ID), ForeignKey("lineage_nodes.id", ondelete="CASCADE"), primary_key=True),
    Column("dst_field", String(ID), primary_key=True),
    Column("transformation", String(32), nullable=False, default="IDENTITY"),
    Column("description", Text, nullable=True),
    Column("created_at", String(40), nullable=False),
    Index("ix_lineage_column_edges_dst", "dst_id", "dst_field"),
)

lineage_runs = Table(
    "lineage_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("event_type", String(16), primary_key=True),
    Column("tenant_id", String(128), nullable=False),
    Column("job_name", String(256), nullable=False),
    Column("status", String(32), nullable=False),
    Column("timestamp", String(40), nullable=False),
    Column("parent_run_id", String(36), nullable=True),
    Column("error", Text, nullable=True),
    Column("metrics", Text, nullable=False, default="{}"),
    Column("nodes", Text, nullable=False, default="[]"),
    Column("edges", Text, nullable=False, default="[]"),
    Index("ix_lineage_runs_job", "tenant_id", "job_name", "timestamp"),
)

TABLES = (lineage_nodes, lineage_edges, lineage_column_edges, lineage_runs)

migration("lineage", 1)(create_tables(*TABLES))
