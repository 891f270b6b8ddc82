"""Downstream usage: who reads a contract's column. The lineage store implements this interface."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class UsageSource(Protocol):
    """Anything that can name the consumers (e.g. dbt model ids) of one column of a contract."""

    def consumers(self, source_type: str, object_name: str, field_path: str, /) -> list[str]:
        """Consumers that read ``field_path`` (dotted for nested fields); empty when nobody does."""
        ...


class StaticUsage:
    """A :class:`UsageSource` from a mapping ``{(source_type, object, field_path): [consumer]}``."""

    def __init__(self, mapping: dict[tuple[str, str, str], list[str]] | None = None) -> None:
        self.mapping = dict(mapping or {})

    def consumers(self, source_type: str, object_name: str, field_path: str, /) -> list[str]:
        return sorted(self.mapping.get((source_type, object_name, field_path), []))
