"""Every module that declares metadata-store tables; importing this registers their migrations.

Add one import per component (lineage, finops, audit, search, runs, ...).
"""

from dativo_ingest.store import (
    apikeys,  # noqa: F401
    audit,  # noqa: F401
    finops,  # noqa: F401
    lineage,  # noqa: F401
    notifications,  # noqa: F401
    quality,  # noqa: F401
    run_history,  # noqa: F401
    search,  # noqa: F401
)
