"""The contracts a whole-project generation covers: the latest version of every registered contract."""

from __future__ import annotations

from pathlib import Path

from dativo_ingest.errors import ConfigError
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.registry.registry import ContractRegistry


def latest_contracts(specs_dir: str | Path) -> list[AssetDefinition]:
    """AssetDefinitions of the latest version of each ``(source, object)``, sorted by source and object."""
    specs = Path(specs_dir)
    if not specs.is_dir():
        raise ConfigError("specs folder not found", path=specs)
    registry = ContractRegistry(specs)
    listed = sorted(registry.contracts(), key=lambda row: (row[0], row[1]))
    return [registry.load(source, obj) for source, obj, _ in listed]
