"""The active breaking-change rules, in order, and :func:`classify`, which runs them over two versions.

Adding a rule: write it as a small function in its own module of this package, then add it to
:data:`FIELD_RULES` (it judges one field pair) or :data:`CONTRACT_RULES` (it judges the whole contract).
"""

from __future__ import annotations

from dativo_ingest.changes.base import Context
from dativo_ingest.changes.bounds import bounds_changed, other_options_changed, pattern_changed
from dativo_ingest.changes.documentation import (
    contract_description_changed,
    contract_metadata_changed,
    field_description_changed,
    field_metadata_changed,
    status_changed,
)
from dativo_ingest.changes.engine import ContractRule, Diff, FieldRule, pairs
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
from dativo_ingest.changes.usage import UsageSource
from dativo_ingest.changes.values import accepted_values_changed
from dativo_ingest.odcs.model import AssetDefinition

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


def classify(
    old: AssetDefinition,
    new: AssetDefinition,
    *,
    perspective: str = "spec",
    usage: UsageSource | None = None,
    field_rules: tuple[FieldRule, ...] | None = None,
    contract_rules: tuple[ContractRule, ...] | None = None,
) -> Diff:
    """Every change from contract ``old`` to ``new`` (``AssetDefinition``s), with the bump each needs.

    ``usage`` is an optional :class:`~dativo_ingest.changes.usage.UsageSource`: with it, removing a field
    nobody reads needs only a MINOR bump and removing a read one names its consumers.
    """
    ctx = Context(
        perspective=perspective,
        usage=usage,
        source_type=new.source_type or old.source_type,
        object_name=new.object_name,
    )
    diff = Diff([], perspective, old.version, new.version)
    for rule in contract_rules if contract_rules is not None else CONTRACT_RULES:
        diff.changes.extend(rule(old, new, ctx))
    rules = field_rules if field_rules is not None else FIELD_RULES
    for pair in pairs(old, new, diff):
        found = [change for rule in rules for change in rule(pair, ctx)]
        if found:
            diff.changes.extend(found)
            if pair.old is not None and pair.new is not None:
                diff.modified.append(pair.path)
    return diff
