"""The vocabulary of change classification: severities, effects, perspectives and the Change record.

A rule reports what a change does to the set of data the contract permits (its *effect*); the
perspective turns that effect into the version bump it needs. The default perspective is the spec's
own bump rules; ``consumer`` and ``producer`` follow datacontract-cli's meaning of those words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

from dativo_ingest.changes.usage import UsageSource
from dativo_ingest.errors import UsageError


class Severity(IntEnum):
    """The version bump a change needs; ordered, so ``max()`` of changes gives the bump of a diff."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | int | Severity) -> Severity:
        if isinstance(value, str):
            return cls[value.upper()]
        return cls(value)


Perspective = Literal["spec", "consumer", "producer"]
PERSPECTIVES: tuple[str, ...] = ("spec", "consumer", "producer")

#: What a change does. ``breaking``: incompatible either way; ``tightening``: permits less data (breaks
#: producers whose data passed before); ``loosening``: permits more (breaks consumers relying on the old
#: guarantee); ``removal``: data consumers read disappears; ``compatible``: new and harmless (an added
#: optional field); ``governance``: classification, regulation, consent; ``documentation``: added docs;
#: ``metadata``: anything else with no structural effect.
Effect = Literal[
    "breaking", "tightening", "loosening", "removal", "compatible", "governance", "documentation", "metadata"
]

_M, _m, _p = Severity.MAJOR, Severity.MINOR, Severity.PATCH
SEVERITY: dict[str, dict[str, Severity]] = {
    # The spec: tightening and removal are MAJOR, relaxing is MINOR, adding documentation MINOR.
    "spec": {
        "breaking": _M,
        "tightening": _M,
        "loosening": _m,
        "removal": _M,
        "compatible": _m,
        "governance": _m,
        "documentation": _m,
        "metadata": _p,
    },
    "consumer": {
        "breaking": _M,
        "tightening": _m,
        "loosening": _M,
        "removal": _M,
        "compatible": _m,
        "governance": _m,
        "documentation": _m,
        "metadata": _p,
    },
    "producer": {
        "breaking": _M,
        "tightening": _M,
        "loosening": _m,
        "removal": _m,
        "compatible": _m,
        "governance": _m,
        "documentation": _m,
        "metadata": _p,
    },
}

#: Reporting category of each change kind's family (schema, constraint, quality, governance, ...).
CATEGORIES = ("schema", "type", "constraint", "quality", "governance", "documentation", "metadata")


@dataclass(frozen=True)
class Change:
    """One difference between two contract versions and the bump it needs."""

    path: str
    kind: str
    severity: Severity
    message: str
    effect: str = "metadata"
    category: str = "metadata"
    old: Any = None
    new: Any = None
    consumers: tuple[str, ...] = ()

    @property
    def is_breaking(self) -> bool:
        return self.severity is Severity.MAJOR

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "severity": self.severity.label,
            "effect": self.effect,
            "category": self.category,
            "message": self.message,
        }
        if self.old is not None:
            data["old"] = self.old
        if self.new is not None:
            data["new"] = self.new
        if self.consumers:
            data["consumers"] = list(self.consumers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(
            path=data.get("path", ""),
            kind=data.get("kind", ""),
            severity=Severity.parse(data.get("severity", "patch")),
            message=data.get("message", ""),
            effect=data.get("effect", "metadata"),
            category=data.get("category", "metadata"),
            old=data.get("old"),
            new=data.get("new"),
            consumers=tuple(data.get("consumers", ())),
        )


@dataclass
class Context:
    """What every rule may consult besides the two versions: perspective, usage, names."""

    perspective: str = "spec"
    usage: UsageSource | None = None
    source_type: str | None = None
    object_name: str | None = None
    table: dict[str, Severity] = field(init=False)

    def __post_init__(self) -> None:
        if self.perspective not in SEVERITY:
            raise UsageError(
                f"perspective must be one of {', '.join(PERSPECTIVES)}, got '{self.perspective}'"
            )
        self.table = SEVERITY[self.perspective]

    def change(
        self,
        path: str,
        kind: str,
        effect: str,
        message: str,
        *,
        category: str,
        old: Any = None,
        new: Any = None,
        consumers: tuple[str, ...] = (),
    ) -> Change:
        """A :class:`Change` whose severity follows from ``effect`` under this context's perspective."""
        return Change(
            path, kind, self.table[effect], message, effect, category, _plain(old), _plain(new), consumers
        )


def _plain(value: Any) -> Any:
    """Values stored on a change must be JSON-able (sets become sorted lists)."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, tuple):
        return list(value)
    return value
