"""The contracts a whole-project generation covers: the latest version of every registered contract.

Uses ``dativo_ingest.contracts.ContractManager`` when it exists; until then (and as a fallback) walks
``<specs>/<source>/v<MAJOR>.<MINOR>/<object>.yaml`` and takes the highest version folder per object.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dativo_ingest.errors import ConfigError

_VERSION_DIR = re.compile(r"v(\d+)\.(\d+)(?:\.(\d+))?")


def latest_contracts(specs_dir: str | Path) -> list[Any]:
    """AssetDefinitions of the latest version of each ``(source, object)``, sorted by source and object."""
    specs = Path(specs_dir)
    if not specs.is_dir():
        raise ConfigError("specs folder not found", path=specs)
    try:
        from dativo_ingest.contracts import ContractManager
    except ImportError:
        return _walk(specs)
    manager = ContractManager(specs_dir=str(specs))
    listed = sorted(manager.list_contracts(), key=lambda row: (row[0], row[1]))
    return [manager.get_contract(source, obj) for source, obj, _ in listed]


def _walk(specs: Path) -> list[Any]:
    from dativo_ingest.config import AssetDefinition

    latest: dict[tuple[str, str], tuple[tuple[int, ...], Path]] = {}
    for path in specs.glob("*/v*/*.y*ml"):
        match = _VERSION_DIR.fullmatch(path.parent.name)
        if match is None or path.suffix not in (".yaml", ".yml"):
            continue
        version = tuple(int(g or 0) for g in match.groups())
        key = (path.parent.parent.name, path.stem)
        if key not in latest or version > latest[key][0]:
            latest[key] = (version, path)
    return [AssetDefinition.from_yaml(latest[key][1]) for key in sorted(latest)]
