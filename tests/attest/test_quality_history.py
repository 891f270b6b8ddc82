"""Every ``contract test`` and every ingestion run stores its check results (SQLite and PostgreSQL
stores); ``contract test-history`` shows the trend per check; the context API, the MCP server and the
HTTP API answer the latest status per check through the policy guard and the audit log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pyarrow.parquet as pq
import pytest
import yaml
from sqlalchemy import create_engine, text

from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
from dativo_ingest.cli.app import main
from dativo_ingest.registry import ContractRegistry
from dativo_ingest.registry.loading import load_contract
from dativo_ingest.store import audit, quality
from dativo_ingest.store.database import MetadataStore
from tests.attest.conftest import EXPECTED, PROPERTIES, ROWS, arrow_table, history_rows, write_contract


def json_report(capsys, contract: Path, *args: str) -> dict:
    main(["contract", "test", str(contract), "--json", *args])
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("seeded", ["parquet"], indirect=True)
def test_each_test_is_recorded_and_history_shows_the_trend(seeded, workspace: Path, capsys) -> None:
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    json_report(capsys, contract)
    json_report(capsys, contract, "--filter", "id = 1")
    rows = history_rows(contract_id=f"{seeded['table']}-contract")
    assert len(rows) == 2 * len(EXPECTED)
    assert {r["origin"] for r in rows} == {"test"} and {r["location"].split("/", 1)[0] for r in rows} == {
        "files"
    }
    assert main(["contract", "test-history", str(contract), "--json"]) == 0
    trends = {t["check"]: t for t in json.loads(capsys.readouterr().out)["checks"]}
    assert set(trends) == set(EXPECTED)
    assert [p["failed"] for p in trends["range:amount"]["points"]] == [2, 0]
    assert trends["range:amount"]["latest"] == "passed"
    assert main(["contract", "test-history", str(contract), "--since", "1h"]) == 0
    table = capsys.readouterr().out
    assert "range:amount" in table and "2 0" in table
    assert main(["contract", "test", str(contract), "--no-record", "--json"]) == 1
    capsys.readouterr()
    assert len(history_rows(contract_id=f"{seeded['table']}-contract")) == 2 * len(EXPECTED)


def test_an_ingestion_run_records_its_checks(workspace: Path) -> None:
    from dativo_ingest.ingest import load_job, run_job

    contract = write_contract(workspace, "orders", [{"server": "files", "type": "local", "path": "x.csv"}])
    csv = workspace / "orders.csv"
    csv.write_text(
        "id,email,status,amount,code\n"
        + "\n".join(",".join("" if v is None else str(v) for v in row[:5]) for row in ROWS)
        + "\n"
    )
    job = workspace / "job.yaml"
    job.write_text(
        yaml.safe_dump(
            {
                "tenant_id": "acme",
                "name": "orders",
                "asset": str(contract),
                "source": {"type": "csv", "path": str(csv)},
            }
        )
    )
    result = run_job(load_job(job))
    rows = history_rows(contract_id="orders-contract")
    assert {r["origin"] for r in rows} == {"ingestion"} and {r["run_id"] for r in rows} == {result.run_id}
    counts = {r["check_id"]: r["failed"] for r in rows}
    # ingestion judges uniqueness on the rows that pass every other rule (those that land)
    assert {k: v for k, v in counts.items() if k != "unique:id"} == {
        k: v for k, v in EXPECTED.items() if k != "unique:id"
    }
    assert all(r["rows_checked"] == len(ROWS) for r in rows)


@pytest.fixture
def postgres_store(postgres_url: str, workspace: Path, monkeypatch) -> Iterator[str]:
    schema = f"t_attest_store_{uuid.uuid4().hex[:10]}"
    admin = create_engine("postgresql+psycopg://" + postgres_url.split("://", 1)[1])
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("DATIVO_DATABASE_URL", url)
    try:
        yield url
    finally:
        MetadataStore.dispose_all()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("seeded", ["parquet"], indirect=True)
def test_history_on_a_postgresql_store(seeded, postgres_store: str, workspace: Path, capsys) -> None:
    contract = write_contract(workspace, seeded["table"], [seeded["server"]])
    json_report(capsys, contract)
    stored = quality.history(MetadataStore(postgres_store), contract_id=f"{seeded['table']}-contract")
    assert {r["check_id"]: r["failed"] for r in stored} == EXPECTED


@pytest.fixture
def registered(workspace: Path, unique_name: str, capsys) -> dict:
    """A registered contract (shop/<table>) whose Parquet data was tested once."""

    path = workspace / "data" / f"{unique_name}.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(arrow_table(), path)
    server = {"server": "files", "type": "local", "path": str(path), "format": "parquet"}
    fields = [{"type" if k == "logicalType" else k: v for k, v in p.items()} for p in PROPERTIES]
    document = {
        "id": f"{unique_name}-contract",
        "name": unique_name,
        "version": "1.0.0",
        "source_type": "shop",
        "object": unique_name,
        "team": {"owner": "owner@example.com"},
        "servers": [server],
        "schema": fields,
    }
    contract = workspace / f"{unique_name}.yaml"
    contract.write_text(yaml.safe_dump(document, sort_keys=False))
    registry = ContractRegistry(workspace / "specs")
    asset = load_contract(contract)
    registry.save(asset, author="test")
    json_report(capsys, contract)
    return {"source_type": asset.source_type, "object": asset.object_name}


POLICY = {"elevated_requesters": ["admin"], "on_restricted": "hide"}


def test_context_carries_the_latest_status_per_check(registered: dict, workspace: Path) -> None:
    api = AIContextAPI(policy_guard=PolicyGuard({"elevated_requesters": ["admin"]}))
    context = api.get_asset_context(registered["source_type"], registered["object"], requester="agent")
    status = context["quality_status"]
    assert {c["check"]: c["failed"] for c in status["checks"]} == EXPECTED
    assert status["passing"] is False and status["summary"] == {"failed": len(EXPECTED)}
    hidden = AIContextAPI(policy_guard=PolicyGuard(POLICY)).get_quality_status(
        registered["source_type"], registered["object"], requester="agent"
    )
    assert "regex:email" not in {c["check"] for c in hidden["quality_status"]["checks"]}
    full = AIContextAPI(policy_guard=PolicyGuard(POLICY)).get_quality_status(
        registered["source_type"], registered["object"], requester="admin"
    )
    assert "regex:email" in {c["check"] for c in full["quality_status"]["checks"]}
    actions = [r["action"] for r in audit.query(MetadataStore.for_workspace())]
    assert actions.count("get_quality_status") == 2 and "get_asset_context" in actions


def test_mcp_get_quality_status_in_a_real_client_session(registered: dict, workspace: Path) -> None:
    import mcp

    from dativo_ingest.server.mcp import build_server

    api = AIContextAPI(policy_guard=PolicyGuard(POLICY), channel="mcp")

    async def call(requester: str) -> dict:
        async with mcp.Client(build_server(api, local_requester=requester)) as client:
            assert "get_quality_status" in {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool(
                "get_quality_status",
                {"source_type": registered["source_type"], "object_name": registered["object"]},
            )
            assert not result.is_error, result.content
            return result.structured_content or json.loads(result.content[0].text)

    agent = anyio.run(call, "agent")
    assert {c["check"] for c in agent["quality_status"]["checks"]} == set(EXPECTED) - {"regex:email"}
    admin = anyio.run(call, "admin")
    assert {c["check"]: c["failed"] for c in admin["quality_status"]["checks"]} == EXPECTED
    rows = [r for r in audit.query(MetadataStore.for_workspace()) if r["action"] == "get_quality_status"]
    assert {(r["requester"], r["channel"]) for r in rows} == {("agent", "mcp"), ("admin", "mcp")}


def test_http_quality_route_behind_api_keys(registered: dict, workspace: Path) -> None:
    import httpx

    from dativo_ingest.server.http import create_app
    from dativo_ingest.server.keys import create_key
    from tests.ai.server_util import running

    store = MetadataStore.for_workspace()
    key = create_key(store, "agent")[1]
    app = create_app(AIContextAPI(policy_guard=PolicyGuard(POLICY), channel="http"))
    path = f"/v1/assets/{registered['source_type']}/{registered['object']}/quality"
    with running(app) as url:
        assert httpx.get(url + path).status_code == 401
        answer = httpx.get(url + path, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    checks = {c["check"] for c in answer.json()["quality_status"]["checks"]}
    assert checks == set(EXPECTED) - {"regex:email"}
    rows = [r for r in audit.query(store) if r["action"] == "get_quality_status"]
    assert [(r["requester"], r["channel"]) for r in rows] == [("agent", "http")]
