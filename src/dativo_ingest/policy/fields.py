"""Which fields of a contract are restricted for a requester, and how each is treated.

A field carries the classification labels of itself and of every field it is nested in: a field
inside a PII object is PII too. A label in the requester's restricted set makes the field
``redact`` (listed, details withheld) or ``hide`` (left out), depending on ``on_restricted``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from dativo_ingest.odcs.model import AssetDefinition, SchemaField
from dativo_ingest.policy.config import PolicyConfig

Treatment = Literal["show", "redact", "hide"]


@dataclass(frozen=True)
class FieldInfo:
    """A field with its dotted path and the labels it inherits."""

    path: str
    field: SchemaField
    labels: frozenset[str]
    top: str  # the top-level column this field lives in


def walk_fields(
    fields: list[SchemaField],
    prefix: str = "",
    inherited: frozenset[str] = frozenset(),
    top: str | None = None,
) -> Iterator[FieldInfo]:
    """Every field (nested ones included), with inherited classification labels."""
    for f in fields:
        path = f"{prefix}{f.name}"
        own = frozenset({f.classification.upper()}) if f.classification else frozenset()
        labels = inherited | own
        root = top or f.name
        yield FieldInfo(path, f, labels, root)
        yield from walk_fields(list(f.properties), f"{path}.", labels, root)
        if f.items is not None and f.items.name:
            yield from walk_fields([f.items], f"{path}[].", labels, root)


def asset_fields(asset: AssetDefinition) -> list[FieldInfo]:
    """Every field of the asset's primary object."""
    return list(walk_fields(list(asset.fields)))


def treatment(labels: frozenset[str], restricted: frozenset[str], policy: PolicyConfig) -> Treatment:
    """How a field with ``labels`` is shown to a requester for whom ``restricted`` labels are restricted."""
    if not labels & restricted:
        return "show"
    return "redact" if policy.on_restricted == "redact" else "hide"


def column_treatments(asset: AssetDefinition, policy: PolicyConfig, requester: str) -> dict[str, Treatment]:
    """Top-level column -> the strictest treatment of it or anything nested in it (for SQL)."""
    restricted = policy.restricted_for(requester)
    order = {"show": 0, "redact": 1, "hide": 2}
    out: dict[str, Treatment] = {}
    for info in asset_fields(asset):
        t = treatment(info.labels, restricted, policy)
        prev = out.get(info.top, "show")
        out[info.top] = t if order[t] > order[prev] else prev
    return out
