"""`dativo keys` and `dativo audit`: keys shown once, stored hashed; decisions queryable."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.cli.audit import parse_since
from dativo_ingest.errors import UsageError


def test_keys_create_list_revoke(workspace, store, capsys):
    assert main(["keys", "create", "ai-agent-1", "--label", "laptop", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["key"].startswith("dtv_") and created["requester"] == "ai-agent-1"
    with store.connect() as conn:
        raw = conn.exec_driver_sql("SELECT key_hash FROM api_keys").scalar_one()
    assert created["key"] not in raw and len(raw) == 64  # only the SHA-256 is kept
    assert main(["keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["requester"] == "ai-agent-1" and "key_hash" not in listed[0]
    assert main(["keys", "revoke", created["key_id"]]) == 0
    assert main(["keys", "revoke", created["key_id"]]) == 1
    assert "no active API key" in capsys.readouterr().err
    assert main(["keys", "create", "bad name!"]) == 1
    assert "requester" in capsys.readouterr().err


def test_reserved_audit_names_cannot_get_keys(workspace, store, capsys):
    for name in ("unauthenticated", "anonymous", "Anonymous"):
        assert main(["keys", "create", name]) == 1
        assert "reserved" in capsys.readouterr().err
    assert main(["keys", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_audit_filters(stripe_registered, store, capsys):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard

    api = AIContextAPI(policy_guard=PolicyGuard({"allowed_requesters": ["ai-agent-1"]}))
    api.get_asset_context("stripe", "customers", requester="ai-agent-1")
    with pytest.raises(PermissionError):
        api.get_asset_context("stripe", "customers", requester="intruder")
    capsys.readouterr()
    assert main(["audit", "--requester", "intruder", "--since", "1h", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["requester"], r["outcome"]) for r in rows] == [("intruder", "denied")]
    assert main(["audit", "--since", "2999-01-01T00:00:00Z", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["audit"]) == 0
    out = capsys.readouterr().out
    assert "ai-agent-1" in out and "intruder" in out and "denied" in out
    assert main(["audit", "--since", "yesterday"]) == 1
    assert "--since" in capsys.readouterr().err


def test_parse_since():
    now = datetime(2025, 1, 2, tzinfo=UTC)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2025-01-01T00:00:00", now) == datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_since("soon", now)


def test_bad_policy_file_is_one_line(workspace, capsys):
    (workspace / "policy.yaml").write_text("on_restricted: maybe\n")
    assert main(["mcp", "--key", "dtv_x_y"]) == 1
    err = capsys.readouterr().err
    assert "policy.yaml" in err and "on_restricted" in err and "Traceback" not in err
