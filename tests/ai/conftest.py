"""Fixtures for the AI context API tests: a workspace with the spec's Stripe contract registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STRIPE_CONTRACT


def make_asset(source: str, obj: str, fields: list[dict[str, Any]], **extra: Any) -> Any:
    """A valid contract for ``source/obj`` with ``fields`` (dativo authoring format)."""
    from dativo_ingest.config import AssetDefinition

    data = {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": f"{source}-{obj}",
        "name": f"{source}_{obj}",
        "version": "1.0.0",
        "status": "active",
        "source_type": source,
        "object": obj,
        "team": {"owner": f"{source}-team@example.com"},
        "schema": fields,
    }
    data.update(extra)
    return AssetDefinition.from_dict(data)


@pytest.fixture
def stripe_asset() -> Any:
    from dativo_ingest.config import AssetDefinition

    return AssetDefinition.from_yaml(STRIPE_CONTRACT)


@pytest.fixture
def registry(workspace: Path) -> Any:
    """The workspace's contract registry (empty)."""
    from dativo_ingest.contracts import ContractManager

    return ContractManager(specs_dir=workspace / "specs")


@pytest.fixture
def stripe_registered(registry: Any, stripe_asset: Any) -> Any:
    """The registry with the spec's Stripe customers contract saved."""
    registry.save_contract(contract=stripe_asset, author="data-engineer@company.com")
    return registry


@pytest.fixture
def store(workspace: Path) -> Any:
    from dativo_ingest.store.database import MetadataStore

    return MetadataStore.for_workspace()


def audit_rows(store: Any, **filters: Any) -> list[dict[str, Any]]:
    from dativo_ingest.store import audit

    return audit.query(store, **filters)
