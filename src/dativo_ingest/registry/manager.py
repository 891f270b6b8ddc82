"""ContractManager, the service behind :mod:`dativo_ingest.contracts` (its public face): validation,
semantic versioning and breaking-change detection over a :class:`ContractRegistry`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dativo_ingest.changes import Diff, UsageSource
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.validation import validate_asset
from dativo_ingest.registry.history import ContractVersion
from dativo_ingest.registry.registry import ContractRegistry
from dativo_ingest.registry.semver import Version, required_version
from dativo_ingest.workspace import Workspace

__all__ = ["ContractManager", "suggested_version"]


class ContractManager:
    """Versioned contracts under ``specs_dir`` (default: the workspace's ``specs``).

    ``usage`` (any object with ``consumers(source_type, object_name, field_path) -> list[str]``, such as
    :class:`dativo_ingest.lineage_graph.usage.StoreUsageSource`) makes field removal usage-aware.
    ``perspective`` is ``spec`` (the spec's bump rules, default), ``consumer`` or ``producer``.
    """

    def __init__(
        self,
        specs_dir: str | Path | None = None,
        *,
        usage: UsageSource | None = None,
        perspective: str = "spec",
    ) -> None:
        if specs_dir is None:
            specs_dir = Workspace.current().specs
        self.specs_dir = Path(specs_dir)
        self.registry = ContractRegistry(self.specs_dir, usage=usage, perspective=perspective)

    def save_contract(
        self, contract: AssetDefinition, author: str = "system", force: bool = False, *, validate: bool = True
    ) -> ContractVersion:
        """Validate and save ``contract`` (an ``AssetDefinition``) as a new version.

        Saving content identical to the latest version is a no-op returning that version. ``force=True``
        saves a too-small bump anyway and records it as forced, but never reuses a saved version number for
        other content (saved versions are immutable). Raises ``ContractValidationError`` for
        an invalid contract (``validate=False`` skips that check) and :class:`BreakingChangeError` for a
        too-small version bump.
        """
        return self.registry.save(contract, author=author, force=force, validate=validate)

    def validate_contract(self, contract: AssetDefinition) -> tuple[bool, list[str]]:
        """``(is_valid, [error messages])`` from the ODCS schema and dativo's semantic rules."""
        return validate_asset(contract).as_tuple()

    def get_contract(self, source_type: str, object_name: str, version: str | None = None) -> AssetDefinition:
        """The ``AssetDefinition`` of ``version`` (latest when None); ContractNotFoundError if absent."""
        return self.registry.load(source_type, object_name, version)

    def get_contract_path(self, source_type: str, object_name: str, version: str) -> Path:
        """``specs/<source_type>/vMAJOR.MINOR/<object>.yaml`` for ``version`` (whether or not it exists)."""
        return self.registry.layout(source_type, object_name).contract_file(version)

    def get_contract_history(self, source_type: str, object_name: str) -> list[ContractVersion]:
        """Every saved version, newest first, with its author, time, change type and changes."""
        return list(reversed(self.registry.versions(source_type, object_name)))

    def list_contracts(self) -> list[tuple[str, str, str]]:
        """``(source_type, object, latest_version)`` for every contract in the registry, sorted."""
        return self.registry.contracts()

    def diff(self, old: AssetDefinition, new: AssetDefinition) -> Diff:
        """Classify the changes between two contracts (no storage involved)."""
        return self.registry.diff(old, new)

    def compare_contracts(
        self, old_version: str, new_version: str, source_type: str, object_name: str
    ) -> dict[str, Any]:
        """The changes from ``old_version`` to ``new_version`` of a saved contract, with the bump needed."""
        old = self.get_contract(source_type, object_name, old_version)
        new = self.get_contract(source_type, object_name, new_version)
        diff = self.diff(old, new)
        result = diff.to_dict()
        result["old_version"], result["new_version"] = old.version, new.version
        result["suggested_version"] = suggested_version(old.version, diff)
        return result


def suggested_version(old_version: str, diff: Diff) -> str:
    """The smallest version after ``old_version`` that ``diff``'s changes allow."""
    return (
        str(required_version(old_version, diff.severity)) if diff.changes else str(Version.parse(old_version))
    )
