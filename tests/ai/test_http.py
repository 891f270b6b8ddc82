"""HTTP API on a real uvicorn server: API-key auth, forged identities, error codes, concurrency + audit."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.ai.conftest import audit_rows
from tests.ai.server_util import running

POLICY = {
    "allowed_requesters": ["ai-agent-1", "analyst-bot"],
    "restricted_classifications": ["PII", "SENSITIVE"],
    "elevated_requesters": ["admin-bot"],
}


@pytest.fixture
def served(stripe_registered, store):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.server.http import create_app
    from dativo_ingest.server.keys import create_key

    keys = {name: create_key(store, name)[1] for name in ("ai-agent-1", "admin-bot", "untrusted-agent")}
    app = create_app(AIContextAPI(policy_guard=PolicyGuard(POLICY), channel="http"))
    with running(app) as url:
        yield url, keys


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_context_with_key_identity(served, store):
    url, keys = served
    r = httpx.get(f"{url}/v1/assets/stripe/customers", headers=bearer(keys["ai-agent-1"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accessed_by"] == "ai-agent-1" and body["schema"]["restricted_fields"] == ["email"]
    assert "Customer email address" not in r.text
    # X-API-Key works too, and the elevated key sees the details
    r = httpx.get(f"{url}/v1/assets/stripe/customers", headers={"X-API-Key": keys["admin-bot"]})
    assert r.status_code == 200 and "Customer email address" in r.text
    assert [row["channel"] for row in audit_rows(store, action="get_asset_context")] == ["http", "http"]


def test_forged_identities_are_ignored(served, store):
    url, keys = served
    untrusted = keys["untrusted-agent"]
    forged = {**bearer(untrusted), "X-Requester": "admin-bot", "X-Dativo-Requester": "admin-bot"}
    r = httpx.get(f"{url}/v1/assets/stripe/customers", params={"requester": "admin-bot"}, headers=forged)
    assert r.status_code == 403 and r.json()["error"] == "PolicyDenied"
    r = httpx.post(
        f"{url}/v1/sql/check",
        headers=forged,
        json={"sql": "SELECT id FROM stripe.customers", "requester": "admin-bot"},
    )
    assert r.status_code == 403
    # a permitted key cannot lift itself to elevated either
    r = httpx.get(
        f"{url}/v1/assets/stripe/customers",
        params={"requester": "admin-bot"},
        headers={**bearer(keys["ai-agent-1"]), "X-Requester": "admin-bot"},
    )
    assert r.status_code == 200 and r.json()["accessed_by"] == "ai-agent-1"
    assert "Customer email address" not in r.text
    assert {row["requester"] for row in audit_rows(store)} == {"untrusted-agent", "ai-agent-1"}
    assert httpx.get(f"{url}/v1/whoami", headers=forged).json() == {"requester": "untrusted-agent"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"X-API-Key": "dtv_000000000000_forged"},
    ],
)
def test_bad_or_missing_key_is_401(served, store, headers):
    url, _keys = served
    r = httpx.get(f"{url}/v1/assets/stripe/customers", headers=headers)
    assert r.status_code == 401 and r.json()["error"] == "AuthenticationError"
    assert r.headers["www-authenticate"] == "Bearer"
    assert audit_rows(store)[-1]["outcome"] == "unauthenticated"


def test_revoked_key_is_refused(served, store):
    from dativo_ingest.server.keys import create_key, revoke_key

    url, _ = served
    key_id, key = create_key(store, "analyst-bot")
    revoke_key(store, key_id)
    import time

    time.sleep(1.1)  # past the verifier's cache
    assert httpx.get(f"{url}/v1/whoami", headers=bearer(key)).status_code == 401


def test_error_codes_and_openapi(served):
    url, keys = served
    h = bearer(keys["ai-agent-1"])
    assert httpx.get(f"{url}/v1/assets/stripe/nothing", headers=h).status_code == 404
    assert (
        httpx.get(f"{url}/v1/assets/stripe/customers", params={"version": "x"}, headers=h).status_code == 422
    )
    assert httpx.get(f"{url}/v1/search", params={"limit": 0}, headers=h).status_code == 422
    r = httpx.post(f"{url}/v1/sql/check", headers=h, json={"sql": "SELEC id FROM"})
    assert r.status_code == 422 and "cannot parse SQL" in r.json()["message"]
    r = httpx.post(
        f"{url}/v1/sql/enforce",
        headers=h,
        json={"sql": "SELECT email FROM stripe.customers WHERE email = 'x'"},
    )
    assert r.status_code == 403 and "restricted column email" in r.json()["message"]
    r = httpx.get(f"{url}/v1/search", params={"query": "customer", "classification": "PII"}, headers=h)
    assert r.status_code == 200 and r.json()["count"] == 1
    r = httpx.get(f"{url}/v1/assets/stripe/customers/lineage", headers=h)
    assert r.status_code == 200 and r.json()["upstream"] == []
    r = httpx.get(f"{url}/v1/finops", headers=h)
    assert r.status_code == 200 and r.json()["summary"]["run_count"] == 0
    spec = httpx.get(f"{url}/openapi.json").json()
    assert {
        "/v1/assets/{source_type}/{object_name}",
        "/v1/search",
        "/v1/sql/check",
        "/v1/sql/enforce",
        "/v1/finops",
        "/v1/assets/{source_type}/{object_name}/lineage",
    } <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_openapi_documents_the_error_shape(served):
    url, _ = served
    doc = httpx.get(f"{url}/openapi.json").json()
    for path, method in (("/v1/search", "get"), ("/v1/sql/check", "post"), ("/v1/whoami", "get")):
        responses = doc["paths"][path][method]["responses"]
        ref = responses["422"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorBody")
    schema = doc["components"]["schemas"]["ErrorBody"]
    assert {"error", "message"} <= set(schema["required"]) and "location" in schema["properties"]
    assert "HTTPValidationError" not in json.dumps(doc)


def test_concurrent_requests_are_all_audited(served, store):
    url, keys = served
    before = len(audit_rows(store))
    plan = [(k, i) for i in range(40) for k in ("ai-agent-1", "admin-bot", "untrusted-agent")]

    def call(item):
        name, i = item
        with httpx.Client(timeout=30) as client:
            if i % 2:
                return name, client.get(
                    f"{url}/v1/assets/stripe/customers", headers=bearer(keys[name])
                ).status_code
            return name, client.get(
                f"{url}/v1/search", params={"query": "customer"}, headers=bearer(keys[name])
            ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(call, plan))
    assert {s for n, s in results if n == "untrusted-agent"} == {403}
    assert {s for n, s in results if n != "untrusted-agent"} == {200}
    rows = audit_rows(store)[before:]
    assert len(rows) == len(plan)
    for name in keys:
        mine = [r for r in rows if r["requester"] == name]
        assert len(mine) == 40 and all(r["allowed"] == (name != "untrusted-agent") for r in mine)
