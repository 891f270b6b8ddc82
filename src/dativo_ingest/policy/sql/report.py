"""What a check says: :class:`Violation` findings gathered in an :class:`SQLReport`, and the one message
(:func:`unavailable`) for a table the requester may not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def unavailable(ref: str) -> str:
    """The one message for a table the requester may not read, whatever the reason (unknown, refused,
    ambiguous, a table function): it reveals neither existence nor governance."""
    return f"table {ref} is not available to you"


@dataclass(frozen=True)
class Violation:
    """One finding: ``severity`` is ``error`` (refused), ``fix`` (enforcement rewrites it) or ``warning``."""

    kind: str
    severity: str
    message: str
    table: str | None = None
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class SQLReport:
    """The outcome of a check (and of enforcement, when ``sql`` holds the rewritten query)."""

    dialect: str | None
    tables: list[dict[str, Any]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    sql: str | None = None

    @property
    def allowed(self) -> bool:
        """True when enforcement can make the query compliant (no ``error`` findings)."""
        return not any(v.severity == "error" for v in self.violations)

    @property
    def compliant(self) -> bool:
        """True when the query is compliant as written (only warnings)."""
        return all(v.severity == "warning" for v in self.violations)

    @property
    def reasons(self) -> list[str]:
        return [v.message for v in self.violations if v.severity == "error"]

    def to_dict(self) -> dict[str, Any]:
        data = {
            "allowed": self.allowed,
            "compliant": self.compliant,
            "dialect": self.dialect,
            "tables": self.tables,
            "violations": [v.to_dict() for v in self.violations],
        }
        if self.sql is not None:
            data["sql"] = self.sql
        return data
