"""Quality expectations, rules and examples on restricted fields never leak, however they name the field
(physical name, another case, a nested path); an expectation naming no known column fails closed."""

from __future__ import annotations

import json

import pytest

from tests.ai.conftest import make_asset

CARDS = [
    {"name": "card_id", "type": "string"},
    {
        "name": "pan",
        "type": "string",
        "physicalName": "pan_raw",
        "description": "zqxpandesc",
        "classification": "PII",
        "examples": ["4111zqxpanexample"],
    },
    {"name": "Holder", "type": "string", "classification": "pii"},
    {
        "name": "items",
        "type": "array",
        "items": {
            "name": "item",
            "type": "object",
            "properties": [
                {
                    "name": "secret_note",
                    "type": "string",
                    "description": "zqxnesteddesc",
                    "classification": "SENSITIVE",
                }
            ],
        },
    },
    {
        "name": "contact",
        "type": "object",
        "examples": [{"phone": "zqxparentexample"}],
        "properties": [{"name": "phone", "type": "string", "classification": "PII"}],
    },
    {
        "name": "status",
        "type": "string",
        "quality": [
            {"type": "sql", "query": "SELECT count(*) FROM t WHERE PAN_RAW = 'zqxfieldrule'"},
            {"type": "sql", "query": "SELECT count(*) FROM t WHERE status = 'zqxokrule'"},
        ],
    },
]
EXPECTATIONS = [
    {"type": "accepted_values", "column": "pan_raw", "values": ["zqxexpectphys"]},
    {"type": "accepted_values", "column": "PAN", "values": ["zqxexpectupper"]},
    {"type": "accepted_values", "column": "holder", "values": ["zqxexpectcase"]},
    {"type": "accepted_values", "column": "items.item.secret_note", "values": ["zqxexpectnested"]},
    {"type": "accepted_values", "column": "items[].secret_note", "values": ["zqxexpectnested2"]},
    {"type": "accepted_values", "column": "no_such_column", "values": ["zqxexpectunknown"]},
    {"type": "expression", "expression": "pan_raw LIKE 'zqxexpectexpr%'"},
    {"type": "accepted_values", "column": "STATUS", "values": ["zqxvisible"]},
    {"type": "row_count", "min": 1},
]
SECRETS = [
    "zqxpandesc",
    "zqxpanexample",
    "zqxnesteddesc",
    "zqxparentexample",
    "zqxfieldrule",
    "zqxexpectphys",
    "zqxexpectupper",
    "zqxexpectcase",
    "zqxexpectnested",
    "zqxexpectunknown",
    "zqxexpectexpr",
    "pan_raw",
]


def _cards():
    return make_asset("pay", "cards", CARDS, data_quality={"expectations": EXPECTATIONS})


@pytest.mark.parametrize("mode", ["redact", "hide"])
def test_expectations_on_restricted_fields_never_leak(mode):
    from dativo_ingest.policy.config import load_policy
    from dativo_ingest.policy.views import asset_context

    ctx = asset_context(_cards(), load_policy({"on_restricted": mode}), "bot")
    text = json.dumps(ctx)
    assert [s for s in SECRETS if s in text] == []
    # what is not restricted stays visible
    assert "zqxvisible" in text and "zqxokrule" in text and '"row_count"' in text
    exps = ctx["data_quality"]["expectations"]
    if mode == "redact":
        assert {"type": "accepted_values", "column": "pan", "restricted": True} in exps
        assert {"type": "accepted_values", "column": "Holder", "restricted": True} in exps
        assert {
            "type": "accepted_values",
            "column": "items[].item.secret_note",
            "restricted": True,
        } in exps
        assert {"type": "accepted_values", "restricted": True} in exps  # unmatched: fail closed
        assert len(exps) == len(EXPECTATIONS)
    else:
        assert [e.get("column") for e in exps] == ["STATUS", None]


def test_elevated_and_unrestricted_requesters_see_all_expectations():
    from dativo_ingest.policy.config import load_policy
    from dativo_ingest.policy.views import asset_context

    ctx = asset_context(_cards(), load_policy({"elevated_requesters": ["admin"]}), "admin")
    text = json.dumps(ctx)
    assert all(s in text for s in SECRETS)
    plain = make_asset(
        "pay",
        "plain",
        [{"name": "id", "type": "string"}],
        data_quality={"expectations": [{"type": "accepted_values", "column": "ID", "values": ["v1"]}]},
    )
    ctx = asset_context(plain, load_policy(None), "bot")
    assert ctx["data_quality"]["expectations"][0]["values"] == ["v1"]


def test_context_api_redacts_expectations_by_physical_name(registry, store):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard

    registered = [e for e in EXPECTATIONS if e["type"] != "expression"]
    asset = make_asset("pay", "cards", CARDS, data_quality={"expectations": registered})
    registry.save_contract(contract=asset, author="t@example.com")
    api = AIContextAPI(policy_guard=PolicyGuard({"on_restricted": "hide"}), store=store)
    text = json.dumps(api.get_asset_context("pay", "cards", requester="bot"))
    assert [s for s in SECRETS if s in text] == []
