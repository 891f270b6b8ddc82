"""Contract storage: the versioned layout under ``specs/``, histories, snapshots and locks."""

from dativo_ingest.registry.history import ContractVersion
from dativo_ingest.registry.layout import Layout
from dativo_ingest.registry.path_segments import check_name
from dativo_ingest.registry.registry import ContractRegistry, content_of
from dativo_ingest.registry.semver import Version, required_version, satisfies, sort_versions

__all__ = [
    "ContractRegistry",
    "ContractVersion",
    "Layout",
    "Version",
    "check_name",
    "content_of",
    "required_version",
    "satisfies",
    "sort_versions",
]
