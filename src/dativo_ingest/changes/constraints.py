"""One view of every constraint on a field, whichever section of the contract declares it.

A field's accepted values, bounds, pattern and quality rules can come from ODCS ``logicalTypeOptions``,
from field-level ``quality`` rules (v3.0 ``rule: validValues`` or v3.1 ``metric`` + ``arguments``) or from
the dativo ``data_quality.expectations`` naming the column (read through the check vocabulary,
:func:`~dativo_ingest.odcs.quality.expectation_checks`, so every alias is the same constraint). Rules
compare these views, so moving a constraint from one section to another is not reported as a change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dativo_ingest.odcs.model import Expectation
from dativo_ingest.odcs.quality import (
    AcceptedValues,
    Check,
    Length,
    Pattern,
    Range,
    as_number,
    expectation_checks,
)

#: Bound keys: a larger lower bound or a smaller upper bound permits less data.
LOWER_BOUNDS = ("minimum", "minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maximum", "maxLength", "maxItems", "maxProperties")
#: Boolean switches that, when turned on, permit less data.
FLAGS = ("exclusiveMinimum", "exclusiveMaximum", "uniqueItems")
#: Keys whose change has no known direction: added tightens, removed loosens, changed breaks.
OPAQUE = ("pattern", "format")


@dataclass
class Constraints:
    """The effective constraints of one field."""

    values: frozenset[str] | None = None  # canonical JSON of each accepted value; None = unrestricted
    shown: dict[str, Any] = field(default_factory=dict)  # canonical -> the value as written
    lower: dict[str, Any] = field(default_factory=dict)
    upper: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    opaque: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # identity -> rules


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def constraints_of(node: Any, expectations: tuple[Any, ...] = ()) -> Constraints:
    """The :class:`Constraints` of a field (``SchemaField``) and the expectations naming its column."""
    view = Constraints()
    options = node.logical_type_options or {}
    for key, value in options.items():
        _option(view, key, value)
    for rule in node.quality:
        if isinstance(rule, dict):
            _quality_rule(view, rule)
    for expectation in expectations:
        _expectation(view, expectation)
    return view


def _option(view: Constraints, key: str, value: Any) -> None:
    if value is None:
        return
    if key in LOWER_BOUNDS:
        _tighter(view.lower, key, value, larger=True)
    elif key in UPPER_BOUNDS:
        _tighter(view.upper, key, value, larger=False)
    elif key in FLAGS and isinstance(value, bool):
        view.flags[key] = view.flags.get(key, False) or value
    elif key == "exclusiveMinimum":  # numeric form (JSON Schema / ODCS 3.1): a strict lower bound
        _tighter(view.lower, "minimum", value, larger=True)
    elif key == "exclusiveMaximum":
        _tighter(view.upper, "maximum", value, larger=False)
    elif key == "enum" and isinstance(value, list):
        _values(view, value)
    elif key in OPAQUE:
        view.opaque[key] = value


def _quality_rule(view: Constraints, rule: dict[str, Any]) -> None:
    given = rule.get("arguments")
    arguments: dict[str, Any] = given if isinstance(given, dict) else {}
    valid = rule.get("validValues", arguments.get("validValues"))
    name = rule.get("rule") or rule.get("metric")
    if name in ("validValues", "invalidValues") and isinstance(valid, list) and _only_keys(rule):
        _values(view, valid)
        return
    identity = str(name or rule.get("type") or "custom")
    if rule.get("name"):
        identity = f"{identity}:{rule['name']}"
    view.quality.setdefault(identity, []).append(rule)


def _only_keys(rule: dict[str, Any]) -> bool:
    """A validValues rule with a plain threshold (or none) is an accepted-values constraint."""
    threshold = {k: v for k, v in rule.items() if k.startswith("mustBe") or k.startswith("mustNot")}
    return not threshold or threshold in ({"mustBe": 0}, {"mustBeLessOrEqualTo": 0}, {"mustBeLessThan": 1})


def _expectation(view: Constraints, expectation: Expectation) -> None:
    """Read through the check vocabulary, so every spelling of a check (``between``, Great Expectations
    names, ...) is the same constraint."""
    checks = expectation_checks(expectation).checks
    rest: list[Check] = []
    for check in checks:
        if isinstance(check, AcceptedValues):
            _values(view, list(check.values))
        elif isinstance(check, (Range, Length)):
            low, high = ("minimum", "maximum") if isinstance(check, Range) else ("minLength", "maxLength")
            if check.minimum is not None:
                _tighter(view.lower, low, check.minimum, larger=True)
            if check.maximum is not None:
                _tighter(view.upper, high, check.maximum, larger=False)
            if isinstance(check, Range) and (check.min_exclusive or check.max_exclusive):
                for flag, on in (
                    ("exclusiveMinimum", check.min_exclusive),
                    ("exclusiveMaximum", check.max_exclusive),
                ):
                    view.flags[flag] = view.flags.get(flag, False) or on
        elif isinstance(check, Pattern):
            view.opaque["pattern"] = check.pattern
        else:
            rest.append(check)
    for check in rest:
        body = {"kind": check.kind, **check.arguments(), "severity": check.severity}
        view.quality.setdefault(f"expectation:{check.kind}", []).append(json.loads(canonical(body)))
    if not checks:  # a form the vocabulary does not understand: compared as written
        body = {k: v for k, v in expectation.dump().items() if k != "column"}
        view.quality.setdefault(f"expectation:{expectation.type}", []).append(body)


def _values(view: Constraints, values: list[Any]) -> None:
    keys = {canonical(v): v for v in values}
    view.shown.update(keys)
    view.values = frozenset(keys) if view.values is None else view.values & frozenset(keys)


def _tighter(bounds: dict[str, Any], key: str, value: Any, *, larger: bool) -> None:
    """Keep the most restrictive of two bounds declared for the same key."""
    if key not in bounds:
        bounds[key] = value
        return
    order = compare(bounds[key], value)
    if order is not None and ((order < 0) == larger):
        bounds[key] = value


def compare(old: Any, new: Any) -> int | None:
    """-1, 0 or 1 comparing two bounds numerically (ISO dates as text); None when incomparable."""
    a, b = as_number(old), as_number(new)
    if a is None or b is None:
        if isinstance(old, str) and isinstance(new, str):
            a, b = old, new  # type: ignore[assignment]
        else:
            return None
    return (a > b) - (a < b)  # type: ignore[operator]
