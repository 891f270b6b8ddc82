"""The metadata store (SQLAlchemy 2 Core): SQLite by default, PostgreSQL by URL."""

from dativo_ingest.store.database import MetadataStore, metadata, migration

__all__ = ["MetadataStore", "metadata", "migration"]
