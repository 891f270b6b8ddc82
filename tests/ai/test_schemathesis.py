"""Schemathesis against the served OpenAPI document: generated requests never produce a 5xx.

Bounded: a few examples per operation (a few dozen in all), each sent with a valid key and without one.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

POLICY = {"allowed_requesters": ["ai-agent-1"], "elevated_requesters": ["admin-bot"]}
EXAMPLES = 6


@pytest.fixture
def served(stripe_registered, store):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.server.http import create_app
    from dativo_ingest.server.keys import create_key

    key = create_key(store, "ai-agent-1")[1]
    app = create_app(AIContextAPI(policy_guard=PolicyGuard(POLICY), channel="http"), mcp=False)
    return schemathesis.openapi.from_asgi("/openapi.json", app), key


def test_no_server_errors(served):
    schema, key = served
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def exercise(case):
            for headers in ({"Authorization": f"Bearer {key}"}, {}):
                response = case.call(headers=headers)
                case.validate_response(response, checks=[not_a_server_error])
                assert response.status_code < 500, (case.method, case.path, response.text)
                if not headers and case.path.startswith("/v1"):
                    assert response.status_code == 401
                statuses.append(response.status_code)

        exercise()
    assert len(statuses) >= 2 * len(operations)
    assert 200 in statuses and 401 in statuses
