"""Contract management: semantic versioning, breaking-change detection, history and comparison.

>>> manager = ContractManager(specs_dir="specs")                                    # doctest: +SKIP
>>> version = manager.save_contract(contract=asset, author="me@x.com", force=False)  # doctest: +SKIP
>>> version.version, version.change_type                                           # doctest: +SKIP
('1.1.0', 'non-breaking')

Contracts are stored as ``specs/<source_type>/vMAJOR.MINOR/<object>.yaml`` with an append-only history.
A save needs a MAJOR bump for a breaking change, at least MINOR for a non-breaking one and at least
PATCH for metadata; otherwise :class:`BreakingChangeError` (a ``ValueError``) names the changes and the
version required. This module is the public face: the rules live in :mod:`dativo_ingest.changes`,
storage and the manager in :mod:`dativo_ingest.registry`.
"""

from dativo_ingest.changes import Change, Diff, Severity, UsageSource, classify
from dativo_ingest.errors import BreakingChangeError
from dativo_ingest.registry.history import ContractVersion
from dativo_ingest.registry.manager import ContractManager, suggested_version

__all__ = [
    "BreakingChangeError",
    "Change",
    "ContractManager",
    "ContractVersion",
    "Diff",
    "Severity",
    "UsageSource",
    "classify",
    "suggested_version",
]
