"""Quality rules (ODCS field ``quality`` and dativo expectations) added, removed or re-thresholded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dativo_ingest.changes.base import Change, Context
from dativo_ingest.changes.constraints import canonical, compare
from dativo_ingest.changes.engine import FieldPair

#: Threshold operators: +1 when a larger value permits more data, -1 when it permits less.
_THRESHOLDS = {
    "mustBeLessThan": 1,
    "mustBeLessOrEqualTo": 1,
    "mustBeGreaterThan": -1,
    "mustBeGreaterOrEqualTo": -1,
}
#: Keys that describe a rule without changing what it checks.
_DESCRIPTIVE = frozenset(
    {
        "name",
        "description",
        "dimension",
        "businessImpact",
        "severity",
        "tags",
        "schedule",
        "scheduler",
        "customProperties",
        "authoritativeDefinitions",
        "id",
        "method",
    }
)


def quality_changed(pair: FieldPair, ctx: Context) -> Iterator[Change]:
    if pair.old is None or pair.new is None:
        return
    yield from diff_quality(pair.path, pair.old_constraints.quality, pair.new_constraints.quality, ctx)


def diff_quality(
    path: str, old: dict[str, list[dict[str, Any]]], new: dict[str, list[dict[str, Any]]], ctx: Context
) -> Iterator[Change]:
    """Changes between two ``{identity: [rule, ...]}`` maps (also used for table-level rules)."""
    for identity in sorted(old.keys() | new.keys()):
        before, after = old.get(identity, []), new.get(identity, [])
        if len(before) == 1 and len(after) == 1:
            yield from _compare(path, identity, before[0], after[0], ctx)
            continue
        old_keys, new_keys = {canonical(r) for r in before}, {canonical(r) for r in after}
        for _ in sorted(new_keys - old_keys):
            yield ctx.change(
                path,
                "quality_rule_added",
                "tightening",
                f"quality rule '{identity}' added",
                category="quality",
                new=identity,
            )
        for _ in sorted(old_keys - new_keys):
            yield ctx.change(
                path,
                "quality_rule_removed",
                "loosening",
                f"quality rule '{identity}' removed",
                category="quality",
                old=identity,
            )


def _compare(
    path: str, identity: str, old: dict[str, Any], new: dict[str, Any], ctx: Context
) -> Iterator[Change]:
    if old == new:
        return
    checking = {k for k in old.keys() | new.keys() if k not in _DESCRIPTIVE and old.get(k) != new.get(k)}
    if not checking:
        yield ctx.change(
            path,
            "quality_rule_described",
            "metadata",
            f"quality rule '{identity}' description changed",
            category="quality",
        )
        return
    if checking <= _THRESHOLDS.keys() and all(k in old and k in new for k in checking):
        directions: set[str] = set()
        comparable = True
        for key in checking:
            order = compare(old[key], new[key])
            if order is None:
                comparable = False
            else:
                directions.add("loosening" if order * _THRESHOLDS[key] < 0 else "tightening")
        if comparable and len(directions) == 1:
            effect = directions.pop()
            label = "tightened" if effect == "tightening" else "loosened"
            yield ctx.change(
                path,
                f"quality_rule_{label}",
                effect,
                f"quality rule '{identity}' threshold {label}",
                category="quality",
                old=_thresholds(old),
                new=_thresholds(new),
            )
            return
    yield ctx.change(
        path,
        "quality_rule_changed",
        "breaking",
        f"quality rule '{identity}' changed ({', '.join(sorted(checking))})",
        category="quality",
        old=_thresholds(old) or None,
        new=_thresholds(new) or None,
    )


def _thresholds(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if k.startswith("mustBe") or k.startswith("mustNot")}
