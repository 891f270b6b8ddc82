"""A contract test that fails announces ``contract_test_failed`` to the routed channels; a passing one
announces nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.notifications import wait_for_pending
from tests.attest.conftest import EXPECTED, write_contract
from tests.notifications.helpers import FAST_RETRY, write_workspace_config
from tests.receivers import Receiver


def _route_to(receiver: Receiver, workspace: Path) -> None:
    write_workspace_config(
        workspace,
        {
            "channels": {"ops": {"type": "webhook", "url": receiver.url()}},
            "events": {"contract_test_failed": {"channels": ["ops"]}},
            "retry": FAST_RETRY,
        },
    )


@pytest.mark.parametrize("seeded", ["parquet"], indirect=True)
def test_failed_checks_are_announced_with_their_counts(
    seeded, workspace: Path, receiver: Receiver, capsys
) -> None:
    _route_to(receiver, workspace)
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    assert main(["contract", "test", str(contract), "--json"]) == 1
    assert wait_for_pending(10)
    (request,) = receiver.requests
    body = json.loads(request.body)
    assert body["event"] == "contract_test_failed"
    failures = {f["check"]: f["failed_rows"] for f in body["details"]["failures"]}
    assert failures == EXPECTED
    assert b"ann@example.com" not in request.body  # counts only: no row values travel


@pytest.mark.parametrize("seeded", ["parquet"], indirect=True)
def test_a_test_not_recorded_announces_nothing(seeded, workspace: Path, receiver: Receiver, capsys) -> None:
    _route_to(receiver, workspace)
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    assert main(["contract", "test", str(contract), "--no-record"]) == 1
    assert wait_for_pending(10)
    assert receiver.requests == []
