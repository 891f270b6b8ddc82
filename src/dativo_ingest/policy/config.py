"""The policy document: who may ask, which classifications are restricted, and what restriction means.

Read from a dict or a YAML file. Keys: ``allowed_requesters`` (empty = everyone may ask),
``restricted_classifications`` (default PII and SENSITIVE), ``elevated_requesters`` (see everything,
allowed implicitly), ``requester_tenants`` (requester -> tenants it may see; absent = all tenants) and
``on_restricted`` (``redact``, the default: restricted fields listed but their details withheld;
``hide``: left out; ``deny``: the whole asset is refused) and ``allowed_unmanaged_tables`` (tables no
contract governs that SQL checks may let through unchanged, e.g. ``ref.country_codes``; default none:
a query reading any table that does not resolve to a contract is refused) and ``allowed_functions``
(functions sqlglot does not know, e.g. a UDF, that SQL checks may let through; default none: such a
call could run SQL or read files behind the checks' back, as ``query_to_xml`` or ``pg_read_file`` do).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dativo_ingest.config_errors import config_error
from dativo_ingest.errors import ConfigError
from dativo_ingest.yamlio import load_mapping

DEFAULT_RESTRICTED = ("PII", "SENSITIVE")
OnRestricted = Literal["redact", "hide", "deny"]


class PolicyConfig(BaseModel):
    """A validated, immutable policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_requesters: frozenset[str] = frozenset()
    restricted_classifications: frozenset[str] = frozenset(DEFAULT_RESTRICTED)
    elevated_requesters: frozenset[str] = frozenset()
    requester_tenants: dict[str, frozenset[str]] = Field(default_factory=dict)
    on_restricted: OnRestricted = "redact"
    allowed_unmanaged_tables: frozenset[str] = frozenset()
    allowed_functions: frozenset[str] = frozenset()

    @field_validator("restricted_classifications", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        return frozenset(str(v).strip().upper() for v in value) if value is not None else value

    @field_validator("allowed_requesters", "elevated_requesters", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        return frozenset(str(v).strip() for v in value) if value is not None else value

    @field_validator("allowed_unmanaged_tables", "allowed_functions", mode="before")
    @classmethod
    def _lower_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        return frozenset(str(v).strip().lower() for v in value) if value is not None else value

    @field_validator("requester_tenants", mode="before")
    @classmethod
    def _tenants(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {str(k): frozenset([v] if isinstance(v, str) else v) for k, v in value.items()}

    def is_elevated(self, requester: str) -> bool:
        return requester in self.elevated_requesters

    def restricted_for(self, requester: str) -> frozenset[str]:
        """The classification labels restricted for ``requester`` (none when elevated)."""
        return frozenset() if self.is_elevated(requester) else self.restricted_classifications

    def tenants_of(self, requester: str) -> frozenset[str] | None:
        """The tenants ``requester`` is scoped to, or None when it is not scoped."""
        return self.requester_tenants.get(requester)


def load_policy(config: PolicyConfig | dict[str, Any] | str | Path | None) -> PolicyConfig:
    """A :class:`PolicyConfig` from a dict, a YAML file path, or None (the default policy)."""
    if isinstance(config, PolicyConfig):
        return config
    source = None
    if config is None:
        data: Any = {}
    elif isinstance(config, (str, Path)):
        source = str(config)
        data = load_mapping(config)
    elif isinstance(config, dict):
        data = config
    else:
        raise ConfigError(f"policy must be a dict or a YAML file path, not {type(config).__name__}")
    try:
        return PolicyConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, path=source, what="policy") from None
