"""The web catalog's test workspace: the demo (``dativo demo``), a second version of stripe/customers
whose description holds a ``<script>``, and another tenant's contract; API keys for three requesters."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ai.server_util import running

RESTRICTED_TEXT = "Customer email address"  # the PII field's description: withheld from non-elevated
SCRIPT_TEXT = "<script>window.__catalog_xss = 1</script>"
POLICY = {
    "elevated_requesters": ["catalog-admin"],
    "requester_tenants": {"acme-viewer": ["acme"]},
}
V110 = """\
version: 1.1.0
description:
  purpose: "Customers from Stripe {script}"
"""


def dativo(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATIVO_HOME": str(home)}
    env.pop("DATIVO_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "dativo_ingest", *args],
        cwd=home,
        env=env,
        text=True,
        capture_output=True,
        check=True,
    )


def _second_version(home: Path) -> Path:
    """stripe/customers 1.1.0: a new optional field and a description with markup in it."""
    text = (home / "specs/stripe/v1.0/customers.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 1.0.0", "version: 1.1.0", 1)
    text = text.replace(
        "purpose: Customer data from Stripe payments platform",
        f'purpose: "Customers from Stripe {SCRIPT_TEXT}"',
    )
    text += "  - name: country\n    type: string\n    description: Billing country\n"
    path = home / "customers-1.1.0.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _globex_contract(home: Path) -> Path:
    text = (home / "specs/shop/v1.0/orders.yaml").read_text(encoding="utf-8")
    text = text.replace("id: shop-orders-001", "id: erp-invoices-001").replace(
        "name: shop_orders", "name: erp_invoices"
    )
    text = text.replace("source_type: shop", "source_type: erp").replace("object: orders", "object: invoices")
    text = text.replace("status: active", "status: active\ntenant: globex", 1)
    text = text.replace("purpose: Orders of the web shop", "purpose: Globex invoices nobody else may see")
    text = text.replace("  - shop\n  - orders\n", "  - erp\n  - invoices\n", 1)
    path = home / "erp-invoices.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def catalog_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace, built once per session (``dativo demo --no-dbt``) and extended."""
    base = tmp_path_factory.mktemp("catalog")
    home = base / "demo"
    dativo("demo", str(home), "--no-dbt", home=base)
    dativo("contract", "save", str(_second_version(home)), "--author", "tests", home=home)
    dativo("contract", "save", str(_globex_contract(home)), "--author", "tests", home=home)
    return home


@dataclass
class Catalog:
    home: Path
    api: Any
    app: Any
    keys: dict[str, str]


def make_api(home: Path) -> Any:
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.contracts import ContractManager
    from dativo_ingest.store.database import MetadataStore

    return AIContextAPI(
        ContractManager(specs_dir=home / "specs"),
        policy_guard=PolicyGuard(POLICY),
        store=MetadataStore.for_workspace(home),
        channel="http",
    )


@pytest.fixture(scope="session")
def catalog(catalog_home: Path) -> Catalog:
    from dativo_ingest.server.http import create_app
    from dativo_ingest.server.keys import create_key

    api = make_api(catalog_home)
    keys = {who: create_key(api.store, who)[1] for who in ("analyst", "catalog-admin", "acme-viewer")}
    return Catalog(catalog_home, api, create_app(api, mcp=False), keys)


@pytest.fixture(scope="session")
def catalog_url(catalog: Catalog) -> Iterator[str]:
    """The catalog served by a real uvicorn on 127.0.0.1."""
    with running(catalog.app) as url:
        yield url


def signed_in(client: Any, key: str) -> Any:
    response = client.post("/signin", data={"key": key, "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client
