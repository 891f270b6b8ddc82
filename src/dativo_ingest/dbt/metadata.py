"""Contract facts carried into dbt ``config.meta`` and ``config.tags`` (ownership, governance, version)."""

from __future__ import annotations

from typing import Any

from dativo_ingest.dbt.node_names import slug
from dativo_ingest.odcs.convert import default_contract_id
from dativo_ingest.odcs.model import AssetDefinition


def contract_id(asset: AssetDefinition) -> str:
    return asset.id or default_contract_id(asset)


def contract_meta(asset: AssetDefinition, *, monitoring: bool = False) -> dict[str, Any]:
    """``meta`` for a source table or model: owner, contract identity and governance (no empty keys)."""
    compliance = asset.compliance
    meta: dict[str, Any] = {
        "owner": asset.owner,
        "contract_id": contract_id(asset),
        "contract_version": str(asset.version),
        "odcs_version": asset.api_version,
        "status": asset.status,
        "domain": asset.domain,
        "data_product": asset.data_product,
        "classification": list(asset.classifications) or None,
        "retention_days": compliance.retention_days if compliance else None,
        "regulations": sorted({str(r).upper() for r in compliance.regulations}) or None
        if compliance
        else None,
        "user_consent_required": True if compliance and compliance.user_consent_required else None,
    }
    if monitoring and asset.data_quality and asset.data_quality.monitoring:
        source = asset.data_quality.monitoring
        watched = {
            "enabled": bool(source.get("enabled", False)),
            "oncall": source.get("oncall_rotation") or source.get("oncall"),
        }
        meta["monitoring"] = {k: v for k, v in watched.items() if v is not None}
    return {k: v for k, v in meta.items() if v is not None}


def contract_tags(asset: AssetDefinition, extra: tuple[str, ...] = ()) -> list[str]:
    """Contract tags, then lower-case classification labels, then ``extra``; slugged, first seen wins."""
    ordered: dict[str, None] = {}
    for tag in [*asset.tags, *(c.lower() for c in asset.classifications), *extra]:
        ordered.setdefault(slug(tag), None)
    return list(ordered)


def column_config(column: Any, *, staged: bool) -> dict[str, Any]:
    """``config`` of one column: classification (and masking when staged) in meta; labels as tags."""
    meta: dict[str, Any] = {}
    if column.classification:
        meta["classification"] = column.classification
    if staged and column.masking:
        meta["masking"] = column.masking
    tags: dict[str, None] = {}
    for tag in [*([column.classification.lower()] if column.classification else []), *column.field.tags]:
        tags.setdefault(slug(tag), None)
    config: dict[str, Any] = {}
    if meta:
        config["meta"] = meta
    if tags:
        config["tags"] = list(tags)
    return config
