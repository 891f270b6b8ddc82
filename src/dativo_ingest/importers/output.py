"""Imported contracts as documents and files: rendered, validated, then written all at once.

``--format dativo`` writes the authoring format (``<stem>.yaml``); ``odcs-3.0.2``/``odcs-3.1.0`` write
official ODCS (``<stem>.odcs.yaml``). Every document is checked against the official ODCS JSON Schema
before anything is written; files are then written atomically, one per contract, so a failed import
writes nothing and a repeated import of an unchanged source rewrites identical bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dativo_ingest.errors import ContractImportError
from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.importers.base import ImportedContract
from dativo_ingest.odcs.versions import schema_version, validator
from dativo_ingest.yamlio import dumps

FORMATS = ("dativo", "odcs-3.0.2", "odcs-3.1.0")


@dataclass(frozen=True)
class RenderedContract:
    path: Path
    text: str
    imported: ImportedContract


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ContractImportError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")


def _relocate_file_paths(item: ImportedContract, out: Path) -> None:
    """A relative file ``path`` in ``servers`` made relative to the folder the contract is written to,
    which is where ``contract test`` resolves it (``--out elsewhere`` must not break the round trip)."""
    for server in item.asset.servers:
        if not isinstance(server, dict) or server.get("type") != "local":
            continue
        path = server.get("path")
        if isinstance(path, str) and "://" not in path and not Path(path).is_absolute():
            server["path"] = Path(os.path.relpath(Path(path).absolute(), out.absolute())).as_posix()


def render(contracts: list[ImportedContract], fmt: str, out: Path) -> list[RenderedContract]:
    """Each contract as text under ``out``, validated against the official schema; nothing written."""
    check_format(fmt)
    rendered: list[RenderedContract] = []
    seen: dict[Path, str] = {}
    for item in contracts:
        _relocate_file_paths(item, out)
        version = "v3.0.2" if fmt == "dativo" else "v" + fmt.split("-", 1)[1]
        document = item.asset.to_odcs(version)
        errors = sorted(e.message for e in validator(schema_version(version)).iter_errors(document))
        if errors:
            raise ContractImportError(
                f"{item.stem}: the imported contract breaks the ODCS schema: {errors[0]}"
            )
        text = dumps(item.asset.to_dict() if fmt == "dativo" else document)
        path = out / (f"{item.stem}.yaml" if fmt == "dativo" else f"{item.stem}.odcs.yaml")
        if path in seen:
            raise ContractImportError(f"tables {seen[path]} and {item.stem} would both be written to {path}")
        seen[path] = item.stem
        rendered.append(RenderedContract(path, text, item))
    return rendered


def write(rendered: list[RenderedContract]) -> None:
    """Write every rendered contract (atomically, each); an unchanged file is left untouched."""
    for item in rendered:
        if item.path.is_file() and item.path.read_text(encoding="utf-8") == item.text:
            continue
        try:
            item.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(item.path, item.text)
        except OSError as exc:
            raise ContractImportError(f"cannot write {item.path}: {exc.strerror or exc}") from exc
