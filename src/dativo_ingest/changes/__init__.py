"""Breaking-change classification: small pure rules over two contract versions.

Each rule is a function in its own module, in the shape of sqlglot's optimizer rules. Field rules take
a :class:`~dativo_ingest.changes.engine.FieldPair` (``.old``, ``.new``: the two versions of one field, either
may be None) and a :class:`Context`; contract rules take the two ``AssetDefinition``s and the context.
Both yield :class:`Change` records. :data:`RULES` lists them all; adding a rule is adding a function and
one line here. :func:`classify` runs them and returns a :class:`Diff`.

>>> diff = classify(old_asset, new_asset, perspective="spec", usage=None)  # doctest: +SKIP
>>> diff.change_type, [str(c) for c in diff.breaking_changes]  # doctest: +SKIP
"""

from __future__ import annotations

from dativo_ingest.changes.base import PERSPECTIVES, SEVERITY, Change, Context, Perspective, Severity
from dativo_ingest.changes.bounds import bounds_changed, other_options_changed, pattern_changed
from dativo_ingest.changes.documentation import (
    contract_description_changed,
    contract_metadata_changed,
    field_description_changed,
    field_metadata_changed,
    status_changed,
)
from dativo_ingest.changes.engine import ContractRule, Diff, FieldPair, FieldRule, classify, flatten
from dativo_ingest.changes.governance import (
    compliance_changed,
    field_classification_changed,
    retention_changed,
)
from dativo_ingest.changes.keys import key_changed
from dativo_ingest.changes.nullability import required_changed
from dativo_ingest.changes.objects import objects_changed, table_expectations_changed
from dativo_ingest.changes.physical_names import physical_name_changed
from dativo_ingest.changes.quality import quality_changed
from dativo_ingest.changes.structure import field_added, field_removed
from dativo_ingest.changes.types import type_changed
from dativo_ingest.changes.usage import StaticUsage, UsageSource
from dativo_ingest.changes.values import accepted_values_changed

FIELD_RULES: tuple[FieldRule, ...] = (
    field_removed,
    field_added,
    type_changed,
    other_options_changed,
    physical_name_changed,
    required_changed,
    key_changed,
    accepted_values_changed,
    bounds_changed,
    pattern_changed,
    quality_changed,
    field_classification_changed,
    field_description_changed,
    field_metadata_changed,
)

CONTRACT_RULES: tuple[ContractRule, ...] = (
    objects_changed,
    table_expectations_changed,
    retention_changed,
    compliance_changed,
    status_changed,
    contract_description_changed,
    contract_metadata_changed,
)

RULES: tuple[FieldRule | ContractRule, ...] = FIELD_RULES + CONTRACT_RULES

__all__ = [
    "CONTRACT_RULES",
    "FIELD_RULES",
    "PERSPECTIVES",
    "RULES",
    "SEVERITY",
    "Change",
    "Context",
    "Diff",
    "FieldPair",
    "Perspective",
    "Severity",
    "StaticUsage",
    "UsageSource",
    "classify",
    "flatten",
]
