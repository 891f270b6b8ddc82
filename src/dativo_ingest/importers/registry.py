"""The importers, by ``--from`` kind."""

from __future__ import annotations

from collections.abc import Callable

from dativo_ingest.errors import ContractImportError
from dativo_ingest.importers.base import ImportedContract, ImportRequest
from dativo_ingest.importers.database import import_database
from dativo_ingest.importers.dbt import import_dbt
from dativo_ingest.importers.ddl import import_ddl
from dativo_ingest.importers.files import import_files
from dativo_ingest.importers.iceberg import import_iceberg

Importer = Callable[[ImportRequest], list[ImportedContract]]

IMPORTERS: dict[str, Importer] = {
    "postgres": import_database,
    "mysql": import_database,
    "iceberg": import_iceberg,
    "parquet": import_files,
    "csv": import_files,
    "jsonl": import_files,
    "ddl": import_ddl,
    "dbt": import_dbt,
}
#: Kinds without rows to sample (``--profile`` is refused for them).
NO_DATA = frozenset({"ddl", "dbt"})


def import_contracts(request: ImportRequest) -> list[ImportedContract]:
    """The contracts of every table ``request`` selects, in name order (nothing is written)."""
    importer = IMPORTERS.get(request.kind)
    if importer is None:
        raise ContractImportError(f"--from must be one of {', '.join(IMPORTERS)}, got '{request.kind}'")
    if request.profile and request.kind in NO_DATA:
        raise ContractImportError(f"--profile needs data; --from {request.kind} has none to sample")
    if request.sample_rows < 1:
        raise ContractImportError(f"--sample-rows must be at least 1, got {request.sample_rows}")
    return sorted(importer(request), key=lambda c: c.stem)
