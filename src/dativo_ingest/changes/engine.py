"""Pair two contract versions field by field and run every rule over them.

Fields are matched by their dotted path (``address.city``; array elements as ``tags[]``), recursively
through nested ODCS properties. Unchanged fields are skipped with one equality test, so a diff of two
10,000-property contracts costs little more than walking them. An added or removed field is reported
once, not once per nested child.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from dativo_ingest.changes.base import Change, Context, Severity
from dativo_ingest.changes.constraints import Constraints, constraints_of
from dativo_ingest.odcs.model import AssetDefinition, Expectation, SchemaField, SchemaObject

CHANGE_TYPES = {
    Severity.MAJOR: "breaking",
    Severity.MINOR: "non-breaking",
    Severity.PATCH: "metadata",
    Severity.NONE: "none",
}


@dataclass
class FieldPair:
    """The two versions of one field (either may be None) and what rules need around them."""

    path: str  # as reported (object-prefixed when the contract has several objects)
    field_path: str  # within its object, as a usage source knows it
    object_name: str
    old: SchemaField | None
    new: SchemaField | None
    old_expectations: tuple[Expectation, ...] = ()
    new_expectations: tuple[Expectation, ...] = ()

    @cached_property
    def old_constraints(self) -> Constraints:
        return constraints_of(self.old, self.old_expectations)

    @cached_property
    def new_constraints(self) -> Constraints:
        return constraints_of(self.new, self.new_expectations)


FieldRule = Callable[[FieldPair, Context], Iterable[Change]]
ContractRule = Callable[[AssetDefinition, AssetDefinition, Context], Iterable[Change]]


@dataclass
class Diff:
    """The classified difference between two contract versions."""

    changes: list[Change]
    perspective: str = "spec"
    old_version: str | None = None
    new_version: str | None = None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        return max((c.severity for c in self.changes), default=Severity.NONE)

    @property
    def change_type(self) -> str:
        """``breaking``, ``non-breaking``, ``metadata`` (PATCH only) or ``none``."""
        return CHANGE_TYPES[self.severity]

    @property
    def is_breaking(self) -> bool:
        return self.severity is Severity.MAJOR

    @property
    def breaking_changes(self) -> list[Change]:
        return [c for c in self.changes if c.severity is Severity.MAJOR]

    @property
    def non_breaking_changes(self) -> list[Change]:
        return [c for c in self.changes if c.severity is not Severity.MAJOR]

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "perspective": self.perspective,
            "change_type": self.change_type,
            "severity": self.severity.label,
            "is_breaking": self.is_breaking,
            "fields": {"added": self.added, "removed": self.removed, "modified": self.modified},
            "breaking_changes": [c.to_dict() for c in self.breaking_changes],
            "non_breaking_changes": [c.to_dict() for c in self.non_breaking_changes],
            "changes": [c.to_dict() for c in self.changes],
        }


def pairs(old: AssetDefinition, new: AssetDefinition, diff: Diff) -> Iterable[FieldPair]:
    """Field pairs that differ (added, removed or changed), recording added/removed paths on ``diff``."""
    multi = len(old.objects) > 1 or len(new.objects) > 1
    new_objects = {o.name: o for o in new.objects}
    matched: list[tuple[SchemaObject, SchemaObject]] = []
    if len(old.objects) == 1 and len(new.objects) == 1:
        matched.append((old.objects[0], new.objects[0]))
    else:
        matched.extend((o, new_objects[o.name]) for o in old.objects if o.name in new_objects)
    old_expect, new_expect = _expectations(old), _expectations(new)
    for position, (old_obj, new_obj) in enumerate(matched):
        prefix = f"{new_obj.name}." if multi else ""
        primary = position == 0 and old_obj is old.objects[0]
        yield from _object_pairs(
            old_obj,
            new_obj,
            prefix,
            diff,
            old_expect if primary else {},
            new_expect if primary and new_obj is new.objects[0] else {},
        )


def _object_pairs(
    old_obj: SchemaObject,
    new_obj: SchemaObject,
    prefix: str,
    diff: Diff,
    old_expect: dict[str, tuple[Expectation, ...]],
    new_expect: dict[str, tuple[Expectation, ...]],
) -> Iterable[FieldPair]:
    old_fields, new_fields = flatten(old_obj.properties), flatten(new_obj.properties)
    name = new_obj.name
    gone: list[str] = []
    for path, old_field in old_fields.items():
        new_field = new_fields.get(path)
        oe, ne = old_expect.get(path, ()), new_expect.get(path, ())
        if new_field is None:
            if gone and path.startswith(tuple(gone)):
                continue  # inside a removed parent: reported with it
            gone.extend((f"{path}.", f"{path}[]"))
            diff.removed.append(prefix + path)
            yield FieldPair(prefix + path, path, name, old_field, None, oe, ne)
        elif not _same(old_field, new_field) or oe != ne:
            yield FieldPair(prefix + path, path, name, old_field, new_field, oe, ne)
    born: list[str] = []
    for path, new_field in new_fields.items():
        if path in old_fields:
            continue
        if born and path.startswith(tuple(born)):
            continue
        born.extend((f"{path}.", f"{path}[]"))
        diff.added.append(prefix + path)
        yield FieldPair(prefix + path, path, name, None, new_field, (), new_expect.get(path, ()))


def _same(old: SchemaField, new: SchemaField) -> bool:
    """Field equality without pydantic's generic ``__eq__`` overhead (same class, values and extras)."""
    return (
        old.__dict__ == new.__dict__
        and old.__pydantic_extra__ == new.__pydantic_extra__
        and type(old) is type(new)
    )


def flatten(fields: list[SchemaField]) -> dict[str, SchemaField]:
    """``{dotted_path: field}`` for fields and their nested properties; array elements as ``name[]``."""
    out: dict[str, SchemaField] = {}
    for node in fields:
        _add(node, node.name, out)
    return out


def _add(node: SchemaField, path: str, out: dict[str, SchemaField]) -> None:
    out[path] = node
    for child in node.properties:
        _add(child, f"{path}.{child.name}", out)
    if node.items is not None:
        _add(node.items, path + "[]", out)


def _expectations(asset: AssetDefinition) -> dict[str, tuple[Expectation, ...]]:
    """Column-level expectations of the primary object, by column path."""
    index: dict[str, list[Expectation]] = {}
    for expectation in asset.expectations:
        if expectation.column:
            index.setdefault(expectation.column, []).append(expectation)
    return {column: tuple(found) for column, found in index.items()}
