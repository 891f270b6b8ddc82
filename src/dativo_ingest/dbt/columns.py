"""The column plan of a contract: one entry per top-level field, shared by YAML and SQL generators.

Computing names, types and masking once keeps the source YAML, the model YAML (with its enforced
contract) and the staging SQL consistent with each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dativo_ingest.dbt.options import GenerationOptions
from dativo_ingest.dbt.types import sql_type, string_type
from dativo_ingest.odcs.model import AssetDefinition


@dataclass(frozen=True)
class Column:
    """One column: its raw (source) name, staged name, contract type, staged type and masking."""

    name: str
    raw_name: str
    contract_type: str
    staged_type: str
    masking: str | None
    field: Any

    @property
    def classification(self) -> str | None:
        return self.field.classification.upper() if self.field.classification else None

    @property
    def is_string(self) -> bool:
        return (self.field.type or "string") in ("string", "uuid")

    @property
    def keeps_values(self) -> bool:
        """True when staged values equal the raw ones (no masking)."""
        return self.masking is None


def plan_columns(asset: AssetDefinition, options: GenerationOptions) -> list[Column]:
    """The columns of ``asset``'s primary object, in contract order."""
    columns = []
    for field in asset.fields:
        contract_type = sql_type(field, options.adapter)
        masking = options.masking if options.is_restricted(field.classification) else None
        staged_type = contract_type
        if masking == "hash" or (masking == "redact" and (field.type or "string") in ("string", "uuid")):
            staged_type = string_type(options.adapter)
        columns.append(
            Column(field.name, field.physical_name or field.name, contract_type, staged_type, masking, field)
        )
    return columns
