"""What a contract lets one requester do with a table: whether the policy refuses it, which columns it
sees and how (shown, masked, hidden), and the retention and consent columns that bind every query.
"""

from __future__ import annotations

from dataclasses import dataclass

from dativo_ingest.errors import DativoError
from dativo_ingest.odcs.model import AssetDefinition, SchemaField
from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.fields import Treatment, column_treatments
from dativo_ingest.policy.rules import AccessRequest, evaluate


@dataclass(frozen=True)
class GovernedColumn:
    """A column of a governed table as the requester sees it."""

    exposed: str  # the name the governed subquery gives it: physical when shown, logical when masked
    physical: str
    treatment: Treatment


@dataclass
class Governed:
    """A table reference resolved to a contract the requester may query, with what it may see of it."""

    key: str
    asset: AssetDefinition
    columns: dict[str, GovernedColumn]  # lower-case exposed name -> column (hidden columns are absent)
    order: list[GovernedColumn]  # every declared column (hidden ones included), in contract order
    retention_column: str | None  # physical name
    retention_days: int | None
    retention_problem: str | None
    consent_column: str | None  # physical name
    consent_required: bool

    @property
    def restricted(self) -> list[GovernedColumn]:
        return [c for c in self.order if c.treatment != "show"]


def physical(f: SchemaField) -> str:
    """The name of field ``f`` in the stored table."""
    return f.physical_name or f.name


def _field_physical(asset: AssetDefinition, logical: str) -> str:
    for f in asset.fields:
        if f.name == logical:
            return physical(f)
    return logical


def retention_column(asset: AssetDefinition) -> str | None:
    """The column retention is measured on, as the dbt staging model reads it:
    ``compliance.event_time_column`` (``compliance.retention_column`` accepted as an alias); never
    guessed. Returns the physical name.
    """
    for key in ("event_time_column", "retention_column"):
        name = asset.compliance_column(key)
        if name is not None:
            return _field_physical(asset, name)
    return None


def consent_column(asset: AssetDefinition) -> str | None:
    """The boolean consent column as the dbt staging model reads it: ``compliance.consent_column``; never
    guessed (a query on a table that requires consent without one is refused). Returns the physical name.
    """
    name = asset.compliance_column("consent_column")
    return _field_physical(asset, name) if name is not None else None


def refused(asset: AssetDefinition, policy: PolicyConfig, requester: str) -> bool:
    """True when the policy does not let ``requester`` query ``asset``."""
    decision = evaluate(
        policy,
        AccessRequest(
            requester,
            "query",
            "asset",
            f"{asset.source_type}/{asset.object_name}",
            frozenset(asset.classifications),
            asset.tenant,
        ),
    )
    return not decision.allowed


def govern(asset: AssetDefinition, policy: PolicyConfig, requester: str) -> Governed:
    """What ``requester`` may see of ``asset`` and which retention and consent rules bind its rows."""
    key = f"{asset.source_type}/{asset.object_name}"
    by_name = column_treatments(asset, policy, requester)
    columns: dict[str, GovernedColumn] = {}
    order: list[GovernedColumn] = []
    for f in asset.fields:
        how = by_name.get(f.name, "show")
        col = GovernedColumn(physical(f) if how == "show" else f.name, physical(f), how)
        order.append(col)
        if how != "hide":
            columns.setdefault(col.exposed.lower(), col)
    comp = asset.compliance
    days = comp.retention_days if comp else None
    problem = None
    try:
        retention = retention_column(asset)
    except DativoError as exc:
        retention, problem = None, str(exc)
    if days and retention is None and problem is None:
        problem = (
            f"{key} has retention_days={days} but declares no compliance.event_time_column, so retention "
            "cannot be enforced"
        )
    try:
        consent = consent_column(asset)
    except DativoError:
        consent = None
    return Governed(
        key=key,
        asset=asset,
        columns=columns,
        order=order,
        retention_column=retention,
        retention_days=days,
        retention_problem=problem if days else None,
        consent_column=consent,
        consent_required=bool(comp and comp.user_consent_required),
    )
