"""Accepted values (enum): removing values tightens, adding values loosens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.engine import FieldPair


def accepted_values_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    if pair.old is None or pair.new is None:
        return
    old, new = pair.old_constraints, pair.new_constraints
    if old.values == new.values:
        return
    if old.values is None:
        shown = sorted((new.shown[k] for k in new.values or ()), key=str)
        yield ctx.change(
            pair.path,
            "accepted_values_introduced",
            "tightening",
            f"values restricted to {_list(shown)}",
            category="constraint",
            new=shown,
        )
        return
    if new.values is None:
        shown = sorted((old.shown[k] for k in old.values), key=str)
        yield ctx.change(
            pair.path,
            "accepted_values_dropped",
            "loosening",
            f"accepted values restriction dropped (was {_list(shown)})",
            category="constraint",
            old=shown,
        )
        return
    removed = sorted((old.shown[k] for k in old.values - new.values), key=str)
    added = sorted((new.shown[k] for k in new.values - old.values), key=str)
    if removed:
        yield ctx.change(
            pair.path,
            "accepted_values_removed",
            "tightening",
            f"accepted values removed: {_list(removed)}",
            category="constraint",
            old=removed,
        )
    if added:
        yield ctx.change(
            pair.path,
            "accepted_values_added",
            "loosening",
            f"accepted values added: {_list(added)}",
            category="constraint",
            new=added,
        )


def _list(values: list[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:10])
    return f"[{shown}{', ...' if len(values) > 10 else ''}]"
