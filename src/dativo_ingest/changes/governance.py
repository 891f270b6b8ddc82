"""Governance changes: classification, regulations, consent, security and retention.

Classification and regulation changes alter who may see the data, so they are reported as governance
changes (MINOR) that reviewers must see; a shorter retention removes data consumers may rely on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.engine import FieldPair
from dativo_ingest.odcs.model import AssetDefinition, Compliance


def field_classification_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    if pair.old is None or pair.new is None:
        return
    old = (pair.old.classification or "").upper() or None
    new = (pair.new.classification or "").upper() or None
    if old == new:
        return
    if old is None:
        kind, message = "classification_added", f"classified {new}"
    elif new is None:
        kind, message = "classification_removed", f"classification {old} removed"
    else:
        kind, message = "classification_changed", f"classification changed {old} -> {new}"
    yield ctx.change(
        pair.path, kind, "governance", f"governance: {message}", category="governance", old=old, new=new
    )


def compliance_changed(old: AssetDefinition, new: AssetDefinition, ctx: Context) -> Iterator[Change]:
    """Contract-level classification, regulations, consent, security and other compliance keys."""
    before, after = old.compliance, new.compliance
    for key, label in (("classification", "classification"), ("regulations", "regulation")):
        old_set = {str(v).upper() for v in (getattr(before, key) if before else [])}
        new_set = {str(v).upper() for v in (getattr(after, key) if after else [])}
        for value in sorted(new_set - old_set):
            yield ctx.change(
                f"compliance.{key}",
                f"{label}_added",
                "governance",
                f"governance: {label} {value} added",
                category="governance",
                new=value,
            )
        for value in sorted(old_set - new_set):
            yield ctx.change(
                f"compliance.{key}",
                f"{label}_removed",
                "governance",
                f"governance: {label} {value} removed",
                category="governance",
                old=value,
            )
    consent_old = bool(before and before.user_consent_required)
    consent_new = bool(after and after.user_consent_required)
    if consent_old != consent_new:
        yield ctx.change(
            "compliance.user_consent_required",
            "consent_changed",
            "governance",
            f"governance: user consent {'now' if consent_new else 'no longer'} required",
            category="governance",
            old=consent_old,
            new=consent_new,
        )
    old_rest, new_rest = _rest(before), _rest(after)
    for key in sorted(old_rest.keys() | new_rest.keys()):
        if old_rest.get(key) != new_rest.get(key):
            yield ctx.change(
                f"compliance.{key}",
                f"{key}_changed",
                "governance",
                f"governance: {key} changed",
                category="governance",
                old=old_rest.get(key),
                new=new_rest.get(key),
            )


def _rest(compliance: Compliance | None) -> dict[str, Any]:
    if compliance is None:
        return {}
    data = compliance.model_dump(mode="json", exclude_defaults=True)
    for key in ("classification", "regulations", "user_consent_required", "retention_days"):
        data.pop(key, None)
    return {k: v for k, v in data.items() if v not in (None, {}, [])}


def retention_changed(old: AssetDefinition, new: AssetDefinition, ctx: Context) -> Iterator[Change]:
    """Shorter (or newly limited) retention removes history consumers may read; longer is governance."""
    before, after = old.retention_days, new.retention_days
    if before == after:
        return
    path = "compliance.retention_days"
    if after is not None and (before is None or after < before):
        yield ctx.change(
            path,
            "retention_shortened",
            "removal",
            f"retention shortened {before if before is not None else 'unlimited'} -> {after} days",
            category="governance",
            old=before,
            new=after,
        )
    else:
        shown = f"{after} days" if after is not None else "unlimited"
        yield ctx.change(
            path,
            "retention_lengthened",
            "governance",
            f"governance: retention lengthened {before} -> {shown}",
            category="governance",
            old=before,
            new=after,
        )
