"""Machinery behind :mod:`dativo_ingest.lineage`: graph model, store access, traversal, OpenLineage
events, dataset naming, spec validation, transports and Mermaid/DOT rendering."""
