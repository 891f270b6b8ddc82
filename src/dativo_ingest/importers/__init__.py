"""Contracts from existing systems: ``dativo contract import``.

One module per kind of source (:mod:`.database`, :mod:`.iceberg`, :mod:`.files`, :mod:`.ddl`,
:mod:`.dbt`), each returning canonical contracts; :mod:`.profile` proposes checks from a sample;
:mod:`.output` renders, validates and writes them.
"""

from dativo_ingest.importers.base import DEFAULT_SAMPLE_ROWS, ImportedContract, ImportRequest
from dativo_ingest.importers.output import FORMATS, render, write
from dativo_ingest.importers.registry import IMPORTERS, import_contracts

__all__ = [
    "DEFAULT_SAMPLE_ROWS",
    "FORMATS",
    "IMPORTERS",
    "ImportRequest",
    "ImportedContract",
    "import_contracts",
    "render",
    "write",
]
