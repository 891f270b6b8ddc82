"""The policy-filtered view of a contract that an AI agent receives (metadata only, never rows).

Pure: from an asset, a policy and a requester to plain JSON-able data. Restricted fields are marked
``restricted`` with their details withheld (``redact``) or left out (``hide``); expectations on them
lose their values (``redact``) or disappear (``hide``).
"""

from __future__ import annotations

from typing import Any

from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.fields import FieldInfo, asset_fields, treatment

WITHHELD = "withheld by policy"


def _field_entry(info: FieldInfo) -> dict[str, Any]:
    f = info.field
    entry: dict[str, Any] = {
        "name": info.path,
        "type": f.type,
        "description": f.description,
        "required": bool(f.required),
        "unique": bool(f.unique),
        "primary_key": bool(f.primary_key),
        "classification": f.classification.upper() if f.classification else None,
        "tags": list(f.tags),
        "restricted": False,
    }
    if f.physical_name:
        entry["physical_name"] = f.physical_name
    if f.physical_type:
        entry["physical_type"] = f.physical_type
    if f.logical_type_options:
        entry["constraints"] = dict(f.logical_type_options)
    if f.quality:
        entry["quality"] = [dict(q) for q in f.quality]
    if f.examples:
        entry["examples"] = list(f.examples)
    return entry


def _redacted_entry(info: FieldInfo, restricted: frozenset[str]) -> dict[str, Any]:
    hit = sorted(info.labels & restricted)
    return {
        "name": info.path,
        "classification": hit[0] if len(hit) == 1 else hit,
        "restricted": True,
        "reason": f"{WITHHELD} ({', '.join(hit)})",
    }


def schema_view(asset: Any, policy: PolicyConfig, requester: str) -> dict[str, Any]:
    """``fields`` (flat, dotted names), ``field_count`` and ``restricted_fields`` as seen by requester."""
    restricted = policy.restricted_for(requester)
    fields: list[dict[str, Any]] = []
    marked: list[str] = []
    for info in asset_fields(asset):
        how = treatment(info.labels, restricted, policy)
        if how == "show":
            fields.append(_field_entry(info))
        elif how == "redact":
            fields.append(_redacted_entry(info, restricted))
            marked.append(info.path)
    return {"fields": fields, "field_count": len(fields), "restricted_fields": marked}


def _quality_view(asset: Any, policy: PolicyConfig, requester: str) -> dict[str, Any] | None:
    dq = asset.data_quality
    if dq is None:
        return None
    restricted = policy.restricted_for(requester)
    how_by_name: dict[str, str] = {}
    for info in asset_fields(asset):
        how_by_name[info.path] = treatment(info.labels, restricted, policy)
    expectations = []
    for exp in dq.expectations:
        how = how_by_name.get(exp.column or "", "show")
        if how == "hide":
            continue
        if how == "redact":
            expectations.append({"type": exp.type, "column": exp.column, "restricted": True})
            continue
        entry = {k: v for k, v in exp.model_dump(mode="json").items() if v is not None}
        expectations.append(entry)
    return {"monitoring": dict(dq.monitoring) if dq.monitoring else None, "expectations": expectations}


def governance_view(asset: Any, policy: PolicyConfig, requester: str) -> dict[str, Any]:
    comp = asset.compliance
    security = dict(comp.security) if comp else {}
    restricted = policy.restricted_for(requester)
    visible: set[str] = set()
    for info in asset_fields(asset):
        how = treatment(info.labels, restricted, policy)
        if how == "show":
            visible.update(info.labels)
        elif how == "redact":
            visible.update(info.labels & restricted)
    visible_labels = sorted(visible)
    return {
        "owner": asset.owner,
        "classification": [c.upper() for c in comp.classification] if comp else [],
        "field_classifications": visible_labels,
        "regulations": list(comp.regulations) if comp else [],
        "retention_days": comp.retention_days if comp else None,
        "user_consent_required": bool(comp.user_consent_required) if comp else False,
        "encryption_required": bool(security.get("encryption_required", False)),
        "access_control": security.get("access_control"),
        "status": asset.status,
    }


def dbt_names(asset: Any) -> dict[str, Any]:
    """The dbt source and staging model names generated for this contract."""
    source, obj = asset.source_type or "unknown", asset.object_name
    return {
        "source": f"raw_{source}",
        "table": obj,
        "source_ref": f"source('raw_{source}', '{obj}')",
        "staging_model": f"stg_{source}_{obj}",
    }


def asset_context(asset: Any, policy: PolicyConfig, requester: str) -> dict[str, Any]:
    """Every part of the context that comes from the contract itself, filtered by the policy."""
    desc = asset.description
    return {
        "asset": {
            "id": asset.id,
            "name": asset.name,
            "version": asset.version,
            "status": asset.status,
            "source_type": asset.source_type,
            "object": asset.object_name,
            "tenant": asset.tenant,
            "domain": asset.domain,
            "data_product": asset.data_product,
            "tags": list(asset.tags),
        },
        "schema": schema_view(asset, policy, requester),
        "governance": governance_view(asset, policy, requester),
        "description": (
            {"purpose": desc.purpose, "usage": desc.usage, "limitations": desc.limitations} if desc else None
        ),
        "data_quality": _quality_view(asset, policy, requester),
        "dbt": dbt_names(asset),
    }
