"""Fixtures shared by the ingestion tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ingest.helpers import PagedCustomersApi, serving


@pytest.fixture
def api_server() -> Iterator[str]:
    """URL of a local Stripe-style customers endpoint (see :class:`PagedCustomersApi`)."""
    PagedCustomersApi.calls, PagedCustomersApi.fail_first = [], 1
    with serving(PagedCustomersApi) as base:
        yield f"{base}/v1/customers"
