"""Documentation and other metadata: adding documentation is MINOR, any other edit is PATCH."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.engine import FieldPair
from dativo_ingest.odcs.model import AssetDefinition

#: Field attributes other rules judge; every other attribute (and unknown extras) is metadata here.
_JUDGED_ELSEWHERE = frozenset(
    {
        "name",
        "type",
        "physical_type",
        "physical_name",
        "required",
        "unique",
        "primary_key",
        "classification",
        "logical_type_options",
        "quality",
        "properties",
        "items",
        "description",
    }
)
#: Top-level contract attributes other rules judge.
_CONTRACT_JUDGED = frozenset({"version", "objects", "compliance", "description", "data_quality", "status"})


def field_description_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    if pair.old is None or pair.new is None:
        return
    yield from _text(pair.path, "description", pair.old.description, pair.new.description, ctx)


def field_metadata_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    """Business name, tags, examples, partitioning, custom properties and the like."""
    if pair.old is None or pair.new is None:
        return
    old, new = pair.old, pair.new
    names = [
        n for n in type(old).model_fields if n not in _JUDGED_ELSEWHERE and getattr(old, n) != getattr(new, n)
    ]
    names.extend(
        sorted(
            k
            for k in (old.model_extra or {}).keys() | (new.model_extra or {}).keys()
            if (old.model_extra or {}).get(k) != (new.model_extra or {}).get(k)
        )
    )
    if names:
        yield ctx.change(
            pair.path,
            "metadata_changed",
            "metadata",
            f"metadata changed: {', '.join(names)}",
            category="metadata",
            new=names,
        )


def contract_description_changed(
    old: AssetDefinition, new: AssetDefinition, ctx: Context
) -> Iterator[Change]:
    before = old.description.model_dump(mode="json", exclude_defaults=True) if old.description else {}
    after = new.description.model_dump(mode="json", exclude_defaults=True) if new.description else {}
    for key in sorted(before.keys() | after.keys()):
        yield from _text(f"description.{key}", key, before.get(key), after.get(key), ctx)


def status_changed(old: AssetDefinition, new: AssetDefinition, ctx: Context) -> Iterator[Change]:
    """Deprecating or retiring a contract is news for consumers (MINOR); other status edits are PATCH."""
    if old.status == new.status:
        return
    effect = "compatible" if new.status in ("deprecated", "retired") else "metadata"
    yield ctx.change(
        "status",
        "status_changed",
        effect,
        f"status changed {old.status} -> {new.status}",
        category="metadata",
        old=old.status,
        new=new.status,
    )


def contract_metadata_changed(old: AssetDefinition, new: AssetDefinition, ctx: Context) -> Iterator[Change]:
    """Every other top-level section (owner, team, tags, domain, servers, SLAs, change management...)."""
    exclude = set(_CONTRACT_JUDGED)
    before = old.model_dump(mode="json", by_alias=True, exclude=exclude)
    after = new.model_dump(mode="json", by_alias=True, exclude=exclude)
    if old.data_quality or new.data_quality:
        before["data_quality.monitoring"] = old.data_quality.monitoring if old.data_quality else None
        after["data_quality.monitoring"] = new.data_quality.monitoring if new.data_quality else None
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            yield ctx.change(
                key,
                f"{_snake(key)}_changed",
                "metadata",
                f"{key} changed",
                category="metadata",
                old=_short(before.get(key)),
                new=_short(after.get(key)),
            )


def _text(path: str, label: str, old: Any, new: Any, ctx: Context) -> Iterator[Change]:
    if old == new:
        return
    if not old:
        yield ctx.change(
            path, "documentation_added", "documentation", f"{label} added", category="documentation", new=new
        )
    else:
        verb = "removed" if not new else "updated"
        yield ctx.change(
            path,
            f"documentation_{verb}",
            "metadata",
            f"{label} {verb}",
            category="documentation",
            old=old,
            new=new,
        )


def _snake(key: str) -> str:
    return (
        "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
        .strip("_")
        .replace(".", "_")
        .replace("$", "")
    )


def _short(value: Any) -> Any:
    """Scalars as they are; sections are not copied into the change (the path names them)."""
    return value if not isinstance(value, (dict, list)) else None
