"""Policy config, rules, field treatment, the guard's audit trail and path scrubbing; key ids are
policy core (no import of the server)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dativo_ingest.errors import ConfigError
from dativo_ingest.policy import AccessRequest, evaluate, load_policy
from dativo_ingest.policy.views import asset_context
from tests.ai.conftest import audit_rows, make_asset

SRC = Path(__file__).resolve().parents[2] / "src" / "dativo_ingest"


def req(requester, classes=(), tenant=None):
    return AccessRequest(requester, "get_asset_context", "asset", "x/y", frozenset(classes), tenant)


def test_allow_list_elevation_and_defaults():
    policy = load_policy({"allowed_requesters": ["a"], "elevated_requesters": ["admin"]})
    assert evaluate(policy, req("a")).allowed
    assert evaluate(policy, req("admin", {"PII"})).reason == "elevated requester"
    denied = evaluate(policy, req("b"))
    assert not denied.allowed and denied.rule == "allow_list"
    assert evaluate(load_policy(None), req("anyone")).allowed  # empty allow list: everyone may ask
    assert load_policy(None).restricted_classifications == {"PII", "SENSITIVE"}
    assert load_policy({"restricted_classifications": []}).restricted_classifications == frozenset()


def test_tenant_scope_and_deny_mode():
    policy = load_policy(
        {
            "requester_tenants": {"acme-bot": ["acme"]},
            "on_restricted": "deny",
            "elevated_requesters": ["admin"],
        }
    )
    assert evaluate(policy, req("acme-bot", tenant="acme")).allowed
    assert evaluate(policy, req("acme-bot", tenant=None)).allowed  # untenanted contracts are shared
    assert evaluate(policy, req("acme-bot", tenant="globex")).rule == "tenant_scope"
    assert evaluate(policy, req("other", tenant="globex")).allowed  # not scoped
    assert evaluate(policy, req("other", {"pii"} and {"PII"})).rule == "restricted_deny"
    assert evaluate(policy, req("admin", {"PII"})).allowed


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"on_restricted": "explode"}, "on_restricted"),
        ({"allowed_requester": ["typo"]}, "allowed_requester"),
        ({"requester_tenants": ["not", "a", "map"]}, "requester_tenants"),
    ],
)
def test_bad_policy_names_the_field(config, field):
    with pytest.raises(ConfigError) as err:
        load_policy(config)
    assert err.value.field == field


def test_policy_file_errors_name_the_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("on_restricted: sometimes\n")
    with pytest.raises(ConfigError, match=r"policy\.yaml"):
        load_policy(path)
    path.write_text("allowed_requesters: [a]\non_restricted: hide\n")
    assert load_policy(str(path)).on_restricted == "hide"


NESTED = [
    {"name": "id", "type": "string"},
    {
        "name": "profile",
        "type": "object",
        "classification": "SENSITIVE",
        "properties": [
            {"name": "bio", "type": "string", "description": "free text SECRET-BIO"},
        ],
    },
    {"name": "status", "type": "string", "description": "lifecycle"},
    {"name": "ssn", "type": "string", "classification": "pii", "description": "SECRET-SSN"},
]


def test_views_redact_hide_and_nested_inheritance():
    asset = make_asset(
        "hr",
        "people",
        NESTED,
        data_quality={
            "expectations": [
                {"type": "accepted_values", "column": "ssn", "values": ["SECRET-VALUE"]},
                {"type": "accepted_values", "column": "status", "values": ["active"]},
            ]
        },
    )
    redact = asset_context(asset, load_policy(None), "bot")
    names = {f["name"]: f for f in redact["schema"]["fields"]}
    assert (
        names["profile.bio"]["restricted"]
        and names["ssn"]["restricted"]
        and not names["status"]["restricted"]
    )
    assert "SECRET" not in str(redact)
    assert redact["schema"]["restricted_fields"] == ["profile", "profile.bio", "ssn"]
    assert {"type": "accepted_values", "column": "ssn", "restricted": True} in redact["data_quality"][
        "expectations"
    ]
    hide = asset_context(asset, load_policy({"on_restricted": "hide"}), "bot")
    assert [f["name"] for f in hide["schema"]["fields"]] == ["id", "status"]
    assert hide["schema"]["field_count"] == 2 and "ssn" not in str(hide)
    elevated = asset_context(asset, load_policy({"elevated_requesters": ["admin"]}), "admin")
    assert "SECRET-SSN" in str(elevated) and "SECRET-VALUE" in str(elevated)


def test_check_access_is_recorded(store):
    from dativo_ingest.ai_context_api import PolicyGuard

    guard = PolicyGuard({"allowed_requesters": ["a"], "on_restricted": "deny"}, store=store)
    assert guard.check_access("asset", "stripe/customers", "a") == (True, None)
    allowed, reason = guard.check_access("asset", "stripe/customers", "a", classification="pii")
    assert not allowed and "PII" in reason
    assert guard.check_access("asset", "stripe/customers", "z")[0] is False
    rows = audit_rows(store)
    assert [(r["requester"], r["allowed"]) for r in rows] == [("a", True), ("a", False), ("z", False)]
    assert all(r["action"] == "check_access" for r in rows)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cannot read /srv/dativo/specs/secret.yaml", "cannot read <server path>"),
        ("cannot read C:\\data\\specs\\x.yaml", "cannot read <server path>"),
        ("error:/srv/data/x.csv", "error:<server path>"),
        ("fetch https://api.x.com/v1/foo failed", "fetch https://api.x.com/v1/foo failed"),
        ("see http://localhost:8080/a/b", "see http://localhost:8080/a/b"),
    ],
)
def test_scrub_paths_removes_server_paths_and_keeps_urls(text, expected):
    from dativo_ingest.policy.guard import scrub_paths

    assert scrub_paths(text) == expected


def test_key_ids_live_in_the_policy_core():
    from dativo_ingest.policy import keyids
    from dativo_ingest.server import keys

    assert keys.key_id_of is keyids.key_id_of and keys.PREFIX == keyids.PREFIX
    assert keyids.key_id_of("dtv_0a1b2c_secret_with_underscores") == "0a1b2c"
    assert keyids.key_id_of("dtv_NOTHEX_secret") is None and keyids.key_id_of(None) is None
    for module in (SRC / "policy").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("dativo_ingest.server"), (module.name, node.module)
