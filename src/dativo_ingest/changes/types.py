"""Type changes: safe widenings loosen, narrowings tighten, anything else breaks."""

from __future__ import annotations

from collections.abc import Iterator

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.engine import FieldPair
from dativo_ingest.odcs.types import is_safe_widening, normalize_type


def type_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    """The logical type (``type``), and the physical type when the logical one is unchanged."""
    if pair.old is None or pair.new is None:
        return
    old, new = pair.old.type, pair.new.type
    if old != new:
        yield _classify(pair.path, "type", old, new, ctx)
        return
    old_p, new_p = pair.old.physical_type, pair.new.physical_type
    if (old_p or "").strip().lower() != (new_p or "").strip().lower():
        yield _classify(pair.path, "physical type", old_p, new_p, ctx)


def _classify(path: str, what: str, old: str | None, new: str | None, ctx: Context) -> Change:
    kind = "physical_" if what != "type" else ""
    if old is None:
        return ctx.change(
            path, f"{kind}type_declared", "tightening", f"{what} declared as {new}", category="type", new=new
        )
    if new is None:
        return ctx.change(
            path,
            f"{kind}type_dropped",
            "loosening",
            f"{what} {old} no longer declared",
            category="type",
            old=old,
        )
    old_n, new_n = normalize_type(old), normalize_type(new)
    if old_n == new_n:
        return ctx.change(
            path,
            f"{kind}type_respelled",
            "metadata",
            f"{what} spelled {new} (was {old})",
            category="type",
            old=old,
            new=new,
        )
    if is_safe_widening(old_n, new_n):
        return ctx.change(
            path,
            f"{kind}type_widened",
            "loosening",
            f"{what} widened {old} -> {new}",
            category="type",
            old=old,
            new=new,
        )
    if is_safe_widening(new_n, old_n):
        return ctx.change(
            path,
            f"{kind}type_narrowed",
            "tightening",
            f"{what} narrowed {old} -> {new}",
            category="type",
            old=old,
            new=new,
        )
    return ctx.change(
        path,
        f"{kind}type_changed",
        "breaking",
        f"{what} changed {old} -> {new}",
        category="type",
        old=old,
        new=new,
    )
