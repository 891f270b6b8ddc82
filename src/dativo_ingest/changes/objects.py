"""Schema objects (tables) added, removed or renamed, and table-level quality rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.constraints import canonical
from dativo_ingest.changes.engine import flatten
from dativo_ingest.changes.quality import diff_quality
from dativo_ingest.odcs.model import AssetDefinition, SchemaObject


def objects_changed(old: AssetDefinition, new: AssetDefinition, ctx: Context) -> Iterator[Change]:
    if len(old.objects) == 1 and len(new.objects) == 1:
        yield from _object_pair(old.objects[0], new.objects[0], old.objects[0].name, ctx)
        return
    old_by, new_by = {o.name: o for o in old.objects}, {o.name: o for o in new.objects}
    for name, obj in old_by.items():
        if name not in new_by:
            yield ctx.change(
                name,
                "object_removed",
                "removal",
                f"schema object removed ({len(obj.properties)} fields)",
                category="schema",
            )
        else:
            yield from _object_pair(obj, new_by[name], name, ctx)
    for name, obj in new_by.items():
        if name not in old_by:
            yield ctx.change(
                name,
                "object_added",
                "compatible",
                f"schema object added ({len(obj.properties)} fields)",
                category="schema",
            )


def _object_pair(old: SchemaObject, new: SchemaObject, path: str, ctx: Context) -> Iterator[Change]:
    if old.name != new.name:
        yield ctx.change(
            path,
            "object_renamed",
            "breaking",
            f"schema object renamed {old.name} -> {new.name}",
            category="schema",
            old=old.name,
            new=new.name,
        )
    old_physical, new_physical = old.physical_name or old.name, new.physical_name or new.name
    if old_physical != new_physical and old.name == new.name:
        yield ctx.change(
            path,
            "physical_name_changed",
            "breaking",
            f"physical name changed {old_physical} -> {new_physical}",
            category="schema",
            old=old_physical,
            new=new_physical,
        )
    yield from diff_quality(path, _rules(old.quality), _rules(new.quality), ctx)
    keep = {"name", "physical_name", "quality", "properties"}
    before = old.model_dump(mode="json", exclude=keep, exclude_defaults=True)
    after = new.model_dump(mode="json", exclude=keep, exclude_defaults=True)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        yield ctx.change(
            path,
            "object_metadata_changed",
            "metadata",
            f"metadata changed: {', '.join(changed)}",
            category="metadata",
            new=changed,
        )


def _rules(quality: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for rule in quality:
        if isinstance(rule, dict):
            identity = str(rule.get("rule") or rule.get("metric") or rule.get("type") or "custom")
            identity = f"{identity}:{rule['name']}" if rule.get("name") else identity
            found.setdefault(identity, []).append(rule)
    return found


def table_expectations_changed(old: AssetDefinition, new: AssetDefinition, ctx: Context) -> Iterator[Change]:
    """Expectations that name no field of the schema (row counts, SQL checks, unknown columns)."""
    before, after = _table_level(old), _table_level(new)
    if before or after:
        yield from diff_quality("data_quality.expectations", before, after, ctx)


def _table_level(asset: AssetDefinition) -> dict[str, list[dict[str, Any]]]:
    expectations = asset.expectations
    if not expectations:
        return {}
    columns = set(flatten(asset.objects[0].properties)) if asset.objects else set()
    found: dict[str, list[dict[str, Any]]] = {}
    for expectation in expectations:
        if expectation.column and expectation.column in columns:
            continue
        identity = f"{expectation.type}:{expectation.column}" if expectation.column else expectation.type
        found.setdefault(identity, []).append(expectation.dump())
    return {k: sorted(v, key=canonical) for k, v in found.items()}
