"""Optional made required (tightens) and required made optional (loosens)."""

from __future__ import annotations

from collections.abc import Iterator

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.engine import FieldPair


def required_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    if pair.old is None or pair.new is None or pair.old.required == pair.new.required:
        return
    if pair.new.required:
        yield ctx.change(
            pair.path,
            "made_required",
            "tightening",
            "optional field made required",
            category="constraint",
            old=False,
            new=True,
        )
    else:
        yield ctx.change(
            pair.path,
            "made_optional",
            "loosening",
            "required field made optional (nulls allowed)",
            category="constraint",
            old=True,
            new=False,
        )
