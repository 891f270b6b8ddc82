"""The metadata store (SQLAlchemy 2 Core): SQLite by default, PostgreSQL by URL.

Where store SQL lives: every table definition and every query of the metadata store lives in this
package, one module (or subpackage) per component: ``lineage`` (graph tables, reads, writes and walks),
``finops`` (run and charge history), ``audit`` (the audit log), ``search`` (the contract search index)
and ``apikeys``. Services (``lineage_graph``, ``finops``, ``policy.guard``, ``context``) call these
functions and never build SQL themselves; store modules may use the core models they persist (for example
:mod:`dativo_ingest.lineage_graph.model`), never a service.

Importing this package registers every component's migrations (:mod:`dativo_ingest.store.components`),
so any :class:`MetadataStore` migrates all of them.
"""

from dativo_ingest.store import components  # noqa: F401  (registers every component's migrations)
from dativo_ingest.store.database import MetadataStore, metadata, migration

__all__ = ["MetadataStore", "metadata", "migration"]
