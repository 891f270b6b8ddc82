"""Each change rule against fixture pairs (tests/registry/fixtures/*.yaml), plus perspectives."""

from __future__ import annotations

import pytest

from dativo_ingest.changes import FIELD_RULES, Severity, classify
from dativo_ingest.errors import UsageError
from tests.registry.conftest import contract, fixture_cases


@pytest.mark.parametrize("case", fixture_cases())
def test_fixture_pair(case: dict) -> None:
    old, new = contract(case["old"]), contract(case["new"])
    diff = classify(old, new, perspective=case.get("perspective", "spec"))
    found = sorted([c.path, c.kind, c.severity.label] for c in diff.changes)
    assert found == sorted(case["expected"]), [str(c) for c in diff.changes]
    assert diff.severity == max((Severity.parse(e[2]) for e in case["expected"]), default=Severity.NONE)


def test_fixtures_cover_every_field_rule() -> None:
    """Every field rule fires in at least one fixture (a rule without a test is a rule that can rot)."""
    fired: set[str] = set()
    for param in fixture_cases():
        case = param.values[0]
        old, new = contract(case["old"]), contract(case["new"])
        for rule in FIELD_RULES:
            from dativo_ingest.changes.engine import Diff, pairs

            for pair in pairs(old, new, Diff([])):
                from dativo_ingest.changes.base import Context

                if list(rule(pair, Context())):
                    fired.add(rule.__name__)
    assert fired == {rule.__name__ for rule in FIELD_RULES}


@pytest.mark.parametrize(
    ("old", "new", "perspective", "severity"),
    [
        # loosening: MINOR for the spec and producers, MAJOR for consumers
        ({"name": "e", "type": "string", "required": True}, {"name": "e", "type": "string"}, "spec", "minor"),
        (
            {"name": "e", "type": "string", "required": True},
            {"name": "e", "type": "string"},
            "producer",
            "minor",
        ),
        (
            {"name": "e", "type": "string", "required": True},
            {"name": "e", "type": "string"},
            "consumer",
            "major",
        ),
        # tightening: MAJOR for the spec and producers, MINOR for consumers
        ({"name": "e", "type": "string"}, {"name": "e", "type": "string", "unique": True}, "spec", "major"),
        (
            {"name": "e", "type": "string"},
            {"name": "e", "type": "string", "unique": True},
            "producer",
            "major",
        ),
        (
            {"name": "e", "type": "string"},
            {"name": "e", "type": "string", "unique": True},
            "consumer",
            "minor",
        ),
        # widening is a loosening
        ({"name": "n", "type": "integer"}, {"name": "n", "type": "long"}, "consumer", "major"),
        # an incompatible type change breaks everyone
        ({"name": "n", "type": "string"}, {"name": "n", "type": "boolean"}, "producer", "major"),
    ],
)
def test_perspectives(old: dict, new: dict, perspective: str, severity: str) -> None:
    diff = classify(contract({"schema": [old]}), contract({"schema": [new]}), perspective=perspective)
    assert diff.severity.label == severity
    assert diff.perspective == perspective


def test_removal_depends_on_perspective() -> None:
    old = contract({"schema": [{"name": "a", "type": "string"}, {"name": "b", "type": "string"}]})
    new = contract({"schema": [{"name": "a", "type": "string"}]})
    assert classify(old, new, perspective="consumer").severity is Severity.MAJOR
    assert classify(old, new, perspective="producer").severity is Severity.MINOR


def test_unknown_perspective_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="perspective"):
        classify(contract(), contract(), perspective="auditor")


def test_diff_summary() -> None:
    old = contract({"schema": [{"name": "id", "type": "string"}, {"name": "email", "type": "string"}]})
    new = contract({"schema": [{"name": "id", "type": "integer"}, {"name": "phone", "type": "string"}]})
    data = classify(old, new).to_dict()
    assert data["change_type"] == "breaking" and data["is_breaking"]
    assert data["fields"] == {"added": ["phone"], "removed": ["email"], "modified": ["id"]}
    assert {c["kind"] for c in data["breaking_changes"]} == {"type_changed", "field_removed"}
    assert [c["kind"] for c in data["non_breaking_changes"]] == ["field_added"]
    assert data["changes"][0]["severity"] in ("major", "minor")
