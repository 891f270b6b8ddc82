"""Search: ranking, filters, never revealing what the policy withholds (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from dativo_ingest.store import search
from dativo_ingest.store.search import Visibility
from tests.ai.conftest import make_asset


def assets():
    return [
        make_asset(
            "stripe",
            "customers",
            [
                {"name": "id", "type": "string", "description": "customer identifier"},
                {
                    "name": "email",
                    "type": "string",
                    "classification": "PII",
                    "description": "contact zebrafish",
                },
            ],
            tags=["stripe", "payments"],
            domain="customer-data",
            description={"purpose": "Customers of the payments platform"},
            compliance={"classification": ["SENSITIVE"]},
        ),
        make_asset(
            "stripe",
            "charges",
            [
                {"name": "id", "type": "string"},
                {"name": "amount", "type": "long", "description": "charge amount in cents"},
            ],
            tags=["stripe", "payments"],
            domain="finance",
            tenant="acme",
        ),
        make_asset(
            "hubspot",
            "contacts",
            [
                {"name": "id", "type": "string"},
                {"name": "customer_name", "type": "string", "description": "full name"},
            ],
            tags=["crm"],
            domain="customer-data",
            tenant="globex",
        ),
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, workspace):
    from dativo_ingest.store.database import MetadataStore

    if request.param == "sqlite":
        store = MetadataStore.for_workspace()
    else:
        store = MetadataStore(request.getfixturevalue("postgres_url"))
        with store.begin() as conn:
            for table in ("search_facets", "search_units", "search_documents"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
    search.upsert(store, assets())
    return store


def keys(hits):
    return [f"{h['source_type']}/{h['object']}" for h in hits]


def test_ranking_prefers_names_over_descriptions(any_store):
    hits = search.search(any_store, Visibility(), query="customer")
    assert keys(hits)[0] == "stripe/customers"
    assert set(keys(hits)) == {"stripe/customers", "hubspot/contacts"}
    assert hits[0]["score"] >= hits[1]["score"] > 0
    assert keys(search.search(any_store, Visibility(), query="cents")) == ["stripe/charges"]


def test_filters_combine(any_store):
    assert keys(search.search(any_store, Visibility(), tags=["payments"], domain="finance")) == [
        "stripe/charges"
    ]
    assert keys(search.search(any_store, Visibility(), classification=["pii"])) == ["stripe/customers"]
    assert keys(search.search(any_store, Visibility(), owner="HUBSPOT-team@example.com")) == [
        "hubspot/contacts"
    ]
    assert search.search(any_store, Visibility(), tags=["nope"]) == []


def test_restricted_details_never_match(any_store):
    redact = Visibility(restricted=frozenset({"PII"}), mode="redact")
    hide = Visibility(restricted=frozenset({"PII"}), mode="hide")
    # the description of a PII field is a withheld detail: it must not be searchable
    assert search.search(any_store, redact, query="zebrafish") == []
    assert keys(search.search(any_store, Visibility(), query="zebrafish")) == ["stripe/customers"]
    # redacted fields show their name and classification, hidden ones do not
    assert keys(search.search(any_store, redact, query="email")) == ["stripe/customers"]
    assert search.search(any_store, hide, query="email") == []
    assert keys(search.search(any_store, redact, classification=["PII"])) == ["stripe/customers"]
    assert search.search(any_store, hide, classification=["PII"]) == []
    # asset-level classification stays visible
    assert keys(search.search(any_store, hide, classification=["SENSITIVE"])) == ["stripe/customers"]


def test_tenant_scope_and_deny_mode_exclude_assets(any_store):
    acme = Visibility(tenants=frozenset({"acme"}))
    assert set(keys(search.search(any_store, acme, limit=10))) == {"stripe/customers", "stripe/charges"}
    deny = Visibility(restricted=frozenset({"PII"}), mode="deny")
    assert "stripe/customers" not in keys(search.search(any_store, deny, limit=10))


def test_reindex_replaces_and_remove_drops(any_store):
    changed = assets()[0]
    changed.version = "1.1.0"
    changed.description.purpose = "Renamed purpose quokka"
    search.upsert(any_store, [changed])
    assert keys(search.search(any_store, Visibility(), query="quokka")) == ["stripe/customers"]
    assert search.versions(any_store)["stripe/customers"] == "1.1.0"
    search.remove(any_store, ["stripe/customers"])
    assert search.search(any_store, Visibility(), query="quokka") == []
    assert "stripe/customers" not in search.versions(any_store)


def test_api_search_follows_the_registry(registry, store):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard

    api = AIContextAPI(registry, policy_guard=PolicyGuard({"allowed_requesters": ["bot"]}))
    assert api.search_assets("customers", requester="bot") == []
    for asset in assets():
        registry.save_contract(asset, author="t@example.com")
    assert api.refresh_index() == 3
    hits = api.search_assets("customer", requester="bot")
    assert keys(hits)[0] == "stripe/customers"
    assert "zebrafish" not in str(hits)
    with pytest.raises(PermissionError):
        api.search_assets("customer", requester="stranger")


# Each SQLite search path: ranking classes streamed (FEW=0), with filters listed in memory
# (CANDIDATES=0) or joined (LISTED=0); the default scores few matches and few candidates directly.
PATHS = {
    "direct": {},
    "streamed": {"FEW": 0},
    "listed": {"FEW": 0, "CANDIDATES": 0},
    "joined": {"FEW": 0, "CANDIDATES": 0, "LISTED": 0},
}


@pytest.fixture(params=sorted(PATHS))
def sqlite_path(request, workspace, monkeypatch):
    from dativo_ingest.store.database import MetadataStore

    for name, value in PATHS[request.param].items():
        monkeypatch.setattr(search.fts, name, value)
    store = MetadataStore.for_workspace()
    search.upsert(store, assets())
    return store


def test_every_path_keeps_withheld_text_and_assets_out(sqlite_path):
    redact = Visibility(restricted=frozenset({"PII"}), mode="redact")
    hide = Visibility(restricted=frozenset({"PII"}), mode="hide")
    for filters in ({}, {"tags": ["stripe"]}, {"domain": "customer-data"}):
        assert search.search(sqlite_path, redact, query="zebrafish", **filters) == []
        both = search.search(sqlite_path, redact, query="zebrafish contact", **filters)
        assert "stripe/customers" not in keys(both)  # both words are only in the PII description
        assert search.search(sqlite_path, hide, query="email", **filters) == []
        assert keys(search.search(sqlite_path, redact, query="email", **filters)) == ["stripe/customers"]
        assert keys(search.search(sqlite_path, Visibility(), query="zebrafish", **filters)) == [
            "stripe/customers"
        ]
    everyone = Visibility()
    assert search.search(sqlite_path, everyone, query="customer", domain="finance") == []
    assert keys(search.search(sqlite_path, everyone, query="customer", tags=["crm"])) == ["hubspot/contacts"]
    acme = Visibility(tenants=frozenset({"acme"}))
    assert "hubspot/contacts" not in keys(search.search(sqlite_path, acme, query="customer name"))
    assert search.search(sqlite_path, acme, query="customer", domain="customer-data", tags=["crm"]) == []
    deny = Visibility(restricted=frozenset({"PII"}), mode="deny")
    assert "stripe/customers" not in keys(search.search(sqlite_path, deny, query="customer"))


def test_every_path_ranks_by_best_unit_kind(sqlite_path):
    hits = search.search(sqlite_path, Visibility(), query="customer")
    assert keys(hits) == ["stripe/customers", "hubspot/contacts"]
    assert [h["score"] for h in hits] == [9.0, 4.0]  # asset name, field name
    # one unit holding every word doubles its weight: "customer name" is one field of hubspot/contacts
    hits = search.search(sqlite_path, Visibility(), query="customer name")
    assert keys(hits) == ["stripe/customers", "hubspot/contacts"]
    assert [h["score"] for h in hits] == [9.0, 8.0]
    assert keys(search.search(sqlite_path, Visibility(), query="cents", tags=["payments"])) == [
        "stripe/charges"
    ]
    assert keys(search.search(sqlite_path, Visibility(), query="customer", limit=1)) == ["stripe/customers"]


def test_words_complete_to_indexed_words(workspace, monkeypatch):
    from dativo_ingest.store.database import MetadataStore

    store = MetadataStore.for_workspace()
    search.upsert(store, assets())
    assert keys(search.search(store, Visibility(), query="zebra")) == ["stripe/customers"]
    assert keys(search.search(store, Visibility(), query="CUSTOM")) == [
        "stripe/customers",
        "hubspot/contacts",
    ]
    monkeypatch.setattr(search.fts, "MAX_EXPANSIONS", 0)  # too many completions: FTS5 prefix query
    assert keys(search.search(store, Visibility(), query="zebra")) == ["stripe/customers"]
    assert search.search(store, Visibility(), query="zebrafishes") == []
