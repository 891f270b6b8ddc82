"""Every module that declares metadata-store tables; importing this registers their migrations.

Add one import per component (lineage, finops, audit, search, runs, ...).
"""
from dativo_ingest.store import lineage  # noqa: F401
from dativo_ingest.store import finops  # noqa: F401
from dativo_ingest.store import audit  # noqa: F401
from dativo_ingest.store import apikeys  # noqa: F401
from dativo_ingest.store import search  # noqa: F401
