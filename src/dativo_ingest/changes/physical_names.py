"""Physical names: what queries address. Changing one breaks every reader."""

from __future__ import annotations

from collections.abc import Iterator

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.engine import FieldPair


def physical_name_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    if pair.old is None or pair.new is None:
        return
    old = pair.old.physical_name or pair.old.name
    new = pair.new.physical_name or pair.new.name
    if old != new:
        yield ctx.change(
            pair.path,
            "physical_name_changed",
            "breaking",
            f"physical name changed {old} -> {new}",
            category="schema",
            old=old,
            new=new,
        )
