"""Fields added and removed; removal is usage-aware when a usage source is given."""

from __future__ import annotations

from collections.abc import Iterator

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.engine import FieldPair, flatten
from dativo_ingest.changes.usage import UsageSource
from dativo_ingest.odcs.model import SchemaField


def field_added(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    """A new required field tightens (existing data lacks it); a new optional field is compatible."""
    if pair.old is not None or pair.new is None:
        return
    if pair.new.required:
        yield ctx.change(
            pair.path,
            "field_added_required",
            "tightening",
            f"required field added ({pair.new.type or pair.new.physical_type or 'untyped'})",
            category="schema",
            new=pair.new.type,
        )
    else:
        yield ctx.change(
            pair.path,
            "field_added",
            "compatible",
            f"optional field added ({pair.new.type or pair.new.physical_type or 'untyped'})",
            category="schema",
            new=pair.new.type,
        )


def field_removed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    """Removing a field is MAJOR; a usage source saying nobody reads it softens only an optional one."""
    if pair.new is not None or pair.old is None:
        return
    label = "required field" if pair.old.required else "optional field"
    readers = (
        _consumers(pair.old, pair, ctx.usage, ctx.source_type)
        if ctx.usage is not None and ctx.source_type
        else None
    )
    if readers:
        shown = ", ".join(readers[:5]) + (f" and {len(readers) - 5} more" if len(readers) > 5 else "")
        yield ctx.change(
            pair.path,
            "field_removed_in_use",
            "breaking",
            f"{label} removed but read by {shown}",
            category="schema",
            old=pair.old.type,
            consumers=tuple(readers),
        )
    elif readers is not None and not pair.old.required:
        yield ctx.change(
            pair.path,
            "field_removed_unused",
            "compatible",
            f"{label} removed; no known downstream consumer reads it",
            category="schema",
            old=pair.old.type,
        )
    else:
        yield ctx.change(
            pair.path, "field_removed", "removal", f"{label} removed", category="schema", old=pair.old.type
        )


def _consumers(old: SchemaField, pair: FieldPair, usage: UsageSource, source_type: str) -> list[str]:
    """Consumers of the removed field ``old`` (``pair.old``) or of anything nested in it."""
    paths = [pair.field_path]
    paths.extend(
        f"{pair.field_path}.{p}" if not p.startswith("[") else pair.field_path + p
        for p in flatten(old.properties)
    )
    if old.items is not None:
        paths.append(pair.field_path + "[]")
    found: set[str] = set()
    for path in paths:
        found.update(usage.consumers(source_type, pair.object_name, path))
    return sorted(found)
