"""Breaking-change classification: small pure rules over two contract versions.

Each rule is a function in its own module, in the shape of sqlglot's optimizer rules. Field rules take
a :class:`~dativo_ingest.changes.engine.FieldPair` (``.old``, ``.new``: the two versions of one field, either
may be None) and a :class:`Context`; contract rules take the two ``AssetDefinition``s and the context.
Both yield :class:`Change` records. :data:`RULES` lists them all; adding a rule is adding a function and
one line in :mod:`~dativo_ingest.changes.active`. :func:`classify` runs them and returns a :class:`Diff`.

>>> diff = classify(old_asset, new_asset, perspective="spec", usage=None)  # doctest: +SKIP
>>> diff.change_type, [str(c) for c in diff.breaking_changes]  # doctest: +SKIP
"""

from __future__ import annotations

from dativo_ingest.changes.active import CONTRACT_RULES, FIELD_RULES, RULES, classify
from dativo_ingest.changes.base import PERSPECTIVES, SEVERITY, Change, Context, Perspective, Severity
from dativo_ingest.changes.engine import Diff, FieldPair, flatten
from dativo_ingest.changes.usage import StaticUsage, UsageSource

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
