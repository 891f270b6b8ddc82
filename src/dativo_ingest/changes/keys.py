"""Uniqueness and primary-key membership added (tightens) or removed (loosens)."""

from __future__ import annotations

from collections.abc import Iterator

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.engine import FieldPair

_FLAGS = (("unique", "unique", "uniqueness"), ("primary_key", "primary_key", "primary key"))


def key_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    if pair.old is None or pair.new is None:
        return
    for attribute, kind, label in _FLAGS:
        before, after = getattr(pair.old, attribute), getattr(pair.new, attribute)
        if before == after:
            continue
        if after:
            yield ctx.change(
                pair.path,
                f"{kind}_added",
                "tightening",
                f"{label} constraint added",
                category="constraint",
                old=False,
                new=True,
            )
        else:
            yield ctx.change(
                pair.path,
                f"{kind}_removed",
                "loosening",
                f"{label} constraint removed",
                category="constraint",
                old=True,
                new=False,
            )
