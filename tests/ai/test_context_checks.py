"""The context an agent receives lists the contract's checks (every form, one vocabulary), treated like
the columns they name: checks on restricted columns lose their arguments (redact) or vanish (hide)."""

from __future__ import annotations

import json

import pytest

from dativo_ingest.policy.config import load_policy
from dativo_ingest.policy.views import asset_context
from tests.ai.conftest import make_asset

FIELDS = [
    {"name": "id", "type": "string", "primaryKey": True},
    {
        "name": "email",
        "type": "string",
        "classification": "PII",
        "logicalTypeOptions": {"pattern": "zqxmail"},
    },
    {"name": "status", "type": "string", "quality": [{"rule": "validValues", "validValues": ["on", "off"]}]},
    {"name": "age", "type": "integer", "logicalTypeOptions": {"minimum": 0}},
]
EXPECTATIONS = [{"type": "expect_column_values_to_be_between", "column": "age", "max_value": 150}]


def _asset():
    return make_asset("crm", "people", FIELDS, data_quality={"expectations": EXPECTATIONS})


def test_every_form_appears_as_a_check() -> None:
    checks = asset_context(_asset(), load_policy({"elevated_requesters": ["admin"]}), "admin")[
        "data_quality"
    ]["checks"]
    kinds = {(c["kind"], c["column"]) for c in checks}
    assert (
        kinds
        == {
            ("not_null", "id"),
            ("unique", "id"),
            ("regex", "email"),
            ("accepted_values", "status"),
            ("range", "age"),
        }
        and len(checks) == 6
    )
    between = next(c for c in checks if c["written_at"] == "data_quality.expectations[0]")
    assert between["arguments"] == {"maximum": 150}
    assert next(c for c in checks if c["kind"] == "accepted_values")["arguments"] == {"values": ["on", "off"]}


@pytest.mark.parametrize("mode", ["redact", "hide"])
def test_checks_on_restricted_columns_keep_their_arguments_back(mode: str) -> None:
    ctx = asset_context(_asset(), load_policy({"on_restricted": mode}), "bot")
    assert "zqxmail" not in json.dumps(ctx)
    email = [c for c in ctx["data_quality"]["checks"] if c["kind"] == "regex"]
    assert email == ([{"kind": "regex", "column": "email", "restricted": True}] if mode == "redact" else [])
    assert any(c["kind"] == "accepted_values" and c["arguments"] for c in ctx["data_quality"]["checks"])
