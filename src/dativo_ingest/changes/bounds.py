"""Bounds, lengths, item counts (compared numerically), pattern and format."""

from __future__ import annotations

from collections.abc import Iterator

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.constraints import compare
from dativo_ingest.changes.engine import FieldPair


def bounds_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    """A lower bound raised or an upper bound lowered tightens; the reverse loosens."""
    if pair.old is None or pair.new is None:
        return
    old, new = pair.old_constraints, pair.new_constraints
    for bounds_old, bounds_new, lower in ((old.lower, new.lower, True), (old.upper, new.upper, False)):
        for key in sorted(bounds_old.keys() | bounds_new.keys()):
            yield from _bound(pair.path, key, bounds_old.get(key), bounds_new.get(key), lower, ctx)
    for key in sorted(old.flags.keys() | new.flags.keys()):
        before, after = old.flags.get(key, False), new.flags.get(key, False)
        if before != after:
            effect = "tightening" if after else "loosening"
            yield ctx.change(
                pair.path,
                f"{key}_{'set' if after else 'unset'}",
                effect,
                f"{key} {'set' if after else 'unset'}",
                category="constraint",
                old=before,
                new=after,
            )


def _bound(path: str, key: str, old: object, new: object, lower: bool, ctx: Context) -> Iterator[Change]:
    if old == new:
        return
    if old is None:
        yield ctx.change(
            path, "bound_added", "tightening", f"{key} {new} added", category="constraint", old=None, new=new
        )
        return
    if new is None:
        yield ctx.change(
            path, "bound_removed", "loosening", f"{key} {old} removed", category="constraint", old=old
        )
        return
    order = compare(old, new)
    if order is None:
        yield ctx.change(
            path,
            "bound_changed",
            "breaking",
            f"{key} changed {old} -> {new} (not comparable)",
            category="constraint",
            old=old,
            new=new,
        )
    elif order != 0:
        tighter = (order < 0) == lower  # raised lower bound or lowered upper bound
        kind, effect = ("bound_tightened", "tightening") if tighter else ("bound_loosened", "loosening")
        yield ctx.change(
            path,
            kind,
            effect,
            f"{key} {'tightened' if tighter else 'loosened'} {old} -> {new}",
            category="constraint",
            old=old,
            new=new,
        )


def pattern_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    """``pattern``/``format``: added tightens, removed loosens, changed breaks (regexes do not compare)."""
    if pair.old is None or pair.new is None:
        return
    old, new = pair.old_constraints.opaque, pair.new_constraints.opaque
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if before is None:
            yield ctx.change(
                pair.path,
                f"{key}_added",
                "tightening",
                f"{key} {after!r} added",
                category="constraint",
                new=after,
            )
        elif after is None:
            yield ctx.change(
                pair.path,
                f"{key}_removed",
                "loosening",
                f"{key} {before!r} removed",
                category="constraint",
                old=before,
            )
        else:
            yield ctx.change(
                pair.path,
                f"{key}_changed",
                "breaking",
                f"{key} changed {before!r} -> {after!r}",
                category="constraint",
                old=before,
                new=after,
            )


_KNOWN_OPTIONS = frozenset(
    {
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "uniqueItems",
        "enum",
        "pattern",
        "format",
    }
)


def other_options_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    """Other ``logicalTypeOptions`` (timezone, precision, ...): no known direction, so a change breaks."""
    if pair.old is None or pair.new is None:
        return
    old, new = pair.old.logical_type_options or {}, pair.new.logical_type_options or {}
    for key in sorted((old.keys() | new.keys()) - _KNOWN_OPTIONS):
        if old.get(key) != new.get(key):
            yield ctx.change(
                pair.path,
                "type_option_changed",
                "breaking",
                f"logicalTypeOptions.{key} changed {old.get(key)!r} -> {new.get(key)!r}",
                category="type",
                old=old.get(key),
                new=new.get(key),
            )
