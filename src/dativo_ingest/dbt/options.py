"""Options that shape generated dbt output, validated once."""

from __future__ import annotations

from dataclasses import dataclass, field

from dativo_ingest.dbt.types import check_adapter
from dativo_ingest.errors import DbtError

MASKING_STRATEGIES = ("hash", "redact", "null")
STYLES = ("current", "legacy")
MATERIALIZATIONS = ("table", "view")
DEFAULT_RESTRICTED = ("PII", "SENSITIVE")


@dataclass(frozen=True)
class GenerationOptions:
    """How contracts become dbt files.

    ``restricted_classifications``: field classifications the policy restricts; those columns are masked
    in staging SQL with ``masking`` (``hash`` = SHA-256 hex, ``redact`` = a constant, ``null``).
    ``materialized``: staging models as tables (with constraints) or views (constraints are not
    enforced on views, so none are emitted). ``style="legacy"`` writes pre-1.10 YAML (``tests:``, top-level
    ``meta``/``tags``). ``strict`` turns a missing event-time or consent column into an error.
    """

    adapter: str = "duckdb"
    restricted_classifications: tuple[str, ...] = DEFAULT_RESTRICTED
    masking: str = "hash"
    materialized: str = "table"
    style: str = "current"
    strict: bool = False
    redacted_text: str = "REDACTED"
    extra_tags: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_adapter(self.adapter)
        _one_of("masking", self.masking, MASKING_STRATEGIES)
        _one_of("style", self.style, STYLES)
        _one_of("materialized", self.materialized, MATERIALIZATIONS)
        labels = tuple(sorted({str(c).upper() for c in self.restricted_classifications}))
        object.__setattr__(self, "restricted_classifications", labels)

    def is_restricted(self, classification: str | None) -> bool:
        return bool(classification) and str(classification).upper() in self.restricted_classifications


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise DbtError(f"must be one of {', '.join(allowed)}, got '{value}'", field=name)
