"""The served catalog: sign-in sessions, pages rendered through the policy guard and audited, real 404
pages, and nothing user-written rendered unescaped (no browser: see test_catalog_in_browser.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.catalog.conftest import RESTRICTED_TEXT, SCRIPT_TEXT, signed_in


@pytest.fixture
def client(catalog):
    return TestClient(catalog.app)


PAGES = [
    "/",
    "/?q=email",
    "/?classification=PII&tag=stripe",
    "/contracts/stripe/customers",
    "/contracts/stripe/customers?version=1.0.0",
    "/contracts/stripe/customers/diff?from=1.0.0&to=1.1.0",
    "/lineage/graph.json?node=asset://stripe/customers@1.0.0&up=3&down=3&columns=true",
    "/lineage/stripe/customers",
    "/runs",
]


def test_sign_in_sets_a_strict_http_only_session_cookie(client, catalog):
    response = client.post(
        "/signin", data={"key": catalog.keys["analyst"], "next": "/"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=" in cookie
    assert catalog.keys["analyst"] not in response.headers["set-cookie"]
    assert "Signed in as <strong>analyst</strong>" in client.get("/").text


def test_without_a_valid_session_every_page_is_the_sign_in_page(client, catalog):
    for path in ["/", "/contracts/stripe/customers", "/runs", "/nope"]:
        response = client.get(path)
        assert response.status_code == 401 and 'action="/signin"' in response.text, path
    client.cookies.set("dativo_session", "forged-token")
    assert 'action="/signin"' in client.get("/").text
    bad = client.post("/signin", data={"key": "dtv_000000000000_nope", "next": "/"})
    assert bad.status_code == 401 and "not valid" in bad.text


def test_sign_in_returns_only_to_same_site_paths(client, catalog):
    response = client.post(
        "/signin",
        data={"key": catalog.keys["analyst"], "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_revoking_the_key_ends_its_sessions(catalog):
    from dativo_ingest.server.keys import create_key, revoke_key

    key_id, key = create_key(catalog.api.store, "analyst")
    client = signed_in(TestClient(catalog.app), key)
    assert client.get("/").status_code == 200
    revoke_key(catalog.api.store, key_id)
    import time

    time.sleep(1.1)  # the verifier trusts a verified key for one second
    response = client.get("/")
    assert response.status_code == 401 and 'action="/signin"' in response.text


def test_restricted_details_never_reach_a_non_elevated_requester(client, catalog):
    signed_in(client, catalog.keys["analyst"])
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert RESTRICTED_TEXT not in response.text, path
    page = client.get("/contracts/stripe/customers").text
    assert "restricted" in page and "withheld by policy" in page


def test_an_elevated_requester_sees_restricted_details(client, catalog):
    signed_in(client, catalog.keys["catalog-admin"])
    assert RESTRICTED_TEXT in client.get("/contracts/stripe/customers").text


def test_other_tenants_contracts_are_absent(client, catalog):
    signed_in(client, catalog.keys["acme-viewer"])
    assert "erp_invoices" not in client.get("/").text
    assert "erp_invoices" not in client.get("/?q=invoices").text
    response = client.get("/contracts/erp/invoices")
    assert response.status_code == 404 and "globex" not in response.text.lower()
    signed_in(client, catalog.keys["analyst"])
    assert "erp_invoices" in client.get("/").text


def test_unknown_contract_version_and_node_are_real_404_pages(client, catalog):
    signed_in(client, catalog.keys["analyst"])
    for path in [
        "/contracts/nope/nothing",
        "/contracts/stripe/customers?version=9.9.9",
        "/contracts/stripe/customers/diff?from=1.0.0&to=7.0.0",
        "/lineage?node=asset://nope/none@1.0.0",
        "/no/such/page",
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html") and "Not found" in response.text, path
    assert client.get("/lineage/graph.json?node=asset://nope/none@1.0.0").status_code == 404
    assert client.get("/v1/nothing").headers["content-type"].startswith("application/json")


def test_markup_in_a_description_shows_as_text(client, catalog):
    signed_in(client, catalog.keys["analyst"])
    for path in ["/", "/contracts/stripe/customers", "/contracts/stripe/customers/diff?from=1.0.0&to=1.1.0"]:
        text = client.get(path).text
        assert SCRIPT_TEXT not in text, path
        assert "&lt;script&gt;window.__catalog_xss = 1&lt;/script&gt;" in text, path


def test_each_page_view_is_audited(client, catalog):
    from dativo_ingest.store import audit

    signed_in(client, catalog.keys["analyst"])
    views = [p for p in PAGES if p != "/lineage/stripe/customers"]  # that one redirects: two views
    before = audit.count(catalog.api.store, requester="analyst")
    for path in views:
        client.get(path)
    rows = audit.query(catalog.api.store, requester="analyst", limit=len(views))
    assert audit.count(catalog.api.store, requester="analyst") - before == len(views)
    assert {r["channel"] for r in rows} == {"web"}
    assert {r["action"] for r in rows} >= {
        "catalog_index",
        "get_asset_context",
        "catalog_diff",
        "catalog_runs",
    }


def test_the_audit_page_is_for_elevated_requesters_only(client, catalog):
    signed_in(client, catalog.keys["analyst"])
    assert client.get("/audit").status_code == 403
    assert "/audit" not in client.get("/").text
    signed_in(client, catalog.keys["catalog-admin"])
    page = client.get("/audit")
    assert page.status_code == 200 and "catalog_index" in page.text


def test_the_diff_gives_each_change_its_verdict_and_the_bump(client, catalog):
    signed_in(client, catalog.keys["analyst"])
    page = client.get("/contracts/stripe/customers/diff?from=1.0.0&to=1.1.0").text
    assert "country" in page and "added" in page
    assert "at least <strong>1.1.0</strong>" in page and "version 1.1.0 is enough" in page


def test_search_pages_and_facets(client, catalog):
    signed_in(client, catalog.keys["analyst"])
    page = client.get("/?q=email").text
    assert "stripe_customers" in page and "shop_orders" not in page
    facet = client.get("/?classification=INTERNAL").text
    assert "shop_orders" in facet and "stripe_customers" not in facet


def test_the_contract_page_shows_each_checks_latest_result_and_trend(client, catalog):
    signed_in(client, catalog.keys["catalog-admin"])
    page = client.get("/contracts/stripe/customers").text
    assert "Latest results" in page and "No results recorded yet" not in page
    status = catalog.api.get_asset_context("stripe", "customers", requester="catalog-admin")["quality_status"]
    assert status["checks"], "the demo's run records its check results"
    for check in status["checks"]:  # each recorded check is a row with its status and counts
        assert f"<code>{check['check']}</code>" in page
    assert page.count('class="trend"') == len(status["checks"])


def test_the_cost_card_counts_one_run_in_the_singular(client, catalog):
    # the demo runs each job once: the per-job line says "1 run", not "1 runs"
    page = signed_in(client, catalog.keys["analyst"]).get("/contracts/stripe/customers").text
    cost = page[page.index('id="cost"') :]
    assert "(1 run)" in cost
    assert "1 runs" not in cost


def test_an_added_field_shows_no_empty_old_value(client, catalog):
    # "country" is new in 1.1.0: its change shows the new type only, not an empty struck-out chip beside it
    signed_in(client, catalog.keys["analyst"])
    page = client.get("/contracts/stripe/customers/diff?from=1.0.0&to=1.1.0").text
    assert "<del></del>" not in page
    assert "<ins>string</ins>" in page
