"""Quarantine replay: after the contract is fixed, the quarantined rows it now accepts land once, in one
snapshot; the rest stay quarantined with their new reasons; a replay is a run with lineage and FinOps."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.errors import DativoError, QuarantineEmptyError
from dativo_ingest.finops import get_recent_runs
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.replay import job_quarantine, replay_quarantine
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from dativo_ingest.lineage import LineageTracker
from tests.ingest.helpers import CUSTOMERS_CONTRACT, good_rows, write_contract, write_csv, write_job

TABLE = "bronze.stripe_customers"
QUARANTINE = "bronze.stripe_customers_quarantine"
LEDGER = "bronze.stripe_customers_quarantine_replays"

#: Rows the 1.0.0 contract quarantines; 1.1.0 accepts status "pending", which fixes the first three.
BAD_ROWS = [
    "cus_p01,p01@example.com,pending,5,2024-01-01T00:00:00Z",  # line 12: fixed by 1.1.0
    "cus_p02,p02@example.com,pending,7,2024-01-02T00:00:00Z",  # line 13: fixed
    "cus_p03,p03@example.com,pending,9,2024-01-03T00:00:00Z",  # line 14: fixed
    "cus_p04,p04@example.com,pending,-1,2024-01-04T00:00:00Z",  # line 15: still below minimum
    "cus_p05,not-an-email,pending,3,2024-01-05T00:00:00Z",  # line 16: still a bad email
    "cus_000001,dup@example.com,pending,1,2024-01-06T00:00:00Z",  # line 17: id already in the table
    "cus_p07,p07@example.com,unknown,2,2024-01-07T00:00:00Z",  # line 18: "unknown" still not accepted
]


def fixed_contract(version: str = "1.1.0") -> dict[str, Any]:
    contract = copy.deepcopy(CUSTOMERS_CONTRACT)
    contract["version"] = version
    contract["data_quality"]["expectations"][0]["values"].append("pending")
    return contract


@pytest.fixture
def quarantined_job(workspace: Path) -> Path:
    """A job whose run landed 10 rows and quarantined the 7 :data:`BAD_ROWS`; the contract then fixed."""
    write_contract(workspace)
    write_csv(workspace / "data" / "customers.csv", good_rows(0, 10) + BAD_ROWS)
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/customers.csv"}})
    result = run_job(load_job(job))
    assert (result.rows_written, result.rows_quarantined) == (10, 7)
    write_contract(workspace, fixed_contract())
    return job


def table(workspace: Path, identifier: str) -> Any:
    return load_catalog_for(CatalogConfig(), workspace / "warehouse").load_table(identifier)


def ids(workspace: Path) -> list[str]:
    return sorted(table(workspace, TABLE).scan(selected_fields=("id",)).to_arrow().column("id").to_pylist())


def snapshots(workspace: Path) -> dict[str, int | None]:
    catalog = load_catalog_for(CatalogConfig(), workspace / "warehouse")
    found: dict[str, int | None] = {}
    for name in (TABLE, QUARANTINE, LEDGER):
        if catalog.table_exists(name):
            snapshot = catalog.load_table(name).current_snapshot()
            found[name] = snapshot.snapshot_id if snapshot else None
    return found


def states(job: Path) -> dict[str, tuple[str, list[str]]]:
    """``line -> (status, current reasons)`` of the job's quarantined rows."""
    _, view = job_quarantine(load_job(job))
    return {str(r.source_location).rsplit(":", 1)[1]: (r.status, sorted(r.reasons)) for r in view.rows}


STILL_FAILING = {
    "15": ("quarantined", ["minimum:balance"]),
    "16": ("quarantined", ["pattern:email"]),
    "17": ("quarantined", ["unique:id"]),
    "18": ("quarantined", ["accepted_values:status"]),
}


def test_fixed_contract_replay_lands_the_rows_it_accepts_once_and_keeps_the_rest_with_new_reasons(
    workspace: Path, quarantined_job: Path
) -> None:
    before = table(workspace, TABLE).current_snapshot().snapshot_id
    result = replay_quarantine(load_job(quarantined_job))
    assert result.status == "success"
    assert (result.rows_checked, result.rows_landed, result.rows_still_quarantined) == (7, 3, 4)
    assert result.contract["version"] == "1.1.0"
    assert result.rule_failures == {
        "accepted_values:status": 1,
        "minimum:balance": 1,
        "pattern:email": 1,
        "unique:id": 1,
    }
    assert result.reasons_changed == 3  # line 18 fails as before: accepted_values:status
    # one new snapshot on the target, holding exactly the three fixed rows, carrying the replay's key
    main = table(workspace, TABLE)
    snapshot = main.current_snapshot()
    assert snapshot.parent_snapshot_id == before and str(snapshot.snapshot_id) == result.snapshot_id
    assert snapshot.summary["dativo.run-key"] == result.run_key
    assert snapshot.summary["dativo.replay-of"] == "acme/customers"
    assert snapshot.summary["added-records"] == "3"
    assert ids(workspace) == sorted([f"cus_{i:06d}" for i in range(10)] + ["cus_p01", "cus_p02", "cus_p03"])
    landed = main.scan(row_filter="id == 'cus_p02'").to_arrow().to_pylist()[0]
    assert (landed["status"], landed["balance"]) == ("pending", 7)  # typed as the contract
    # the quarantine keeps every row; three are marked replayed, the others carry their new reasons
    assert table(workspace, QUARANTINE).scan().to_arrow().num_rows == 7
    assert states(quarantined_job) == {
        "12": ("replayed", []),
        "13": ("replayed", []),
        "14": ("replayed", []),
        # the duplicate first failed accepted_values only: now it is a repeat of a landed id
        **STILL_FAILING,
    }
    _, view = job_quarantine(load_job(quarantined_job))
    replayed = [r for r in view.rows if r.status == "replayed"]
    assert {r.replay_run_id for r in replayed} == {result.run_id}
    assert {r.checked_version for r in view.rows} == {"1.1.0"}
    [run] = view.runs()
    assert (run.rows, run.replayed, run.quarantined, run.contract_version) == (7, 3, 4, "1.0.0")
    # the replay is a run: lineage quarantine -> quarantine_replay -> target, and a FinOps record
    tracker = LineageTracker()
    runs = tracker.runs(job_name="customers.replay")
    assert [r["event_type"] for r in runs] == ["COMPLETE", "START"]
    lineage_run = runs[0]
    assert lineage_run["run_id"] == result.lineage_run_id
    assert lineage_run["metrics"]["records_written"] == 3
    upstream = {
        e["node"]["id"] for e in tracker.get_upstream_lineage("target://iceberg/bronze/stripe_customers")
    }
    assert {
        "transformation://acme/customers/quarantine_replay",
        "target://iceberg/bronze/stripe_customers_quarantine",
        "asset://stripe/customers@1.1.0",
    } <= upstream
    event = tracker.run_event(result.lineage_run_id)  # valid against the OpenLineage spec
    ingestion = tracker.run_event(job_name="customers")  # the same datasets as the run names them
    written, quarantined = [(d["namespace"], d["name"]) for d in ingestion["outputs"]]
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [quarantined]
    assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [written]
    assert quarantined[1].endswith("bronze.stripe_customers_quarantine")
    assert event["job"]["name"] == "customers.replay" and event["eventType"] == "COMPLETE"
    [finops] = get_recent_runs(tenant_id="acme", job_name="customers.replay")
    assert finops["run_id"] == result.run_id
    assert result.cost_usd is not None and result.cost_usd > 0


def test_replaying_twice_lands_nothing_new(workspace: Path, quarantined_job: Path) -> None:
    first = replay_quarantine(load_job(quarantined_job))
    assert first.rows_landed == 3
    after_first = snapshots(workspace)
    second = replay_quarantine(load_job(quarantined_job))
    assert (second.rows_checked, second.rows_landed, second.rows_still_quarantined) == (4, 0, 4)
    assert second.rows_already_replayed == 3 and second.reasons_changed == 0
    assert snapshots(workspace) == after_first  # nothing written to the target, quarantine or ledger
    assert len(ids(workspace)) == 13
    # a later contract that accepts "unknown" lands line 18, and only it
    contract = fixed_contract("1.2.0")
    contract["data_quality"]["expectations"][0]["values"].append("unknown")
    write_contract(workspace, contract)
    third = replay_quarantine(load_job(quarantined_job))
    assert (third.rows_checked, third.rows_landed, third.rows_still_quarantined) == (4, 1, 3)
    assert len(ids(workspace)) == 14 and "cus_p07" in ids(workspace)
    assert states(quarantined_job)["18"] == ("replayed", [])


def test_dry_run_reports_what_would_land_and_writes_nothing(workspace: Path, quarantined_job: Path) -> None:
    before = snapshots(workspace)
    lineage_runs = len(LineageTracker().runs())
    result = replay_quarantine(load_job(quarantined_job), dry_run=True)
    assert result.status == "dry_run"
    assert (result.rows_checked, result.rows_landed, result.rows_still_quarantined) == (7, 3, 4)
    assert result.snapshot_id is None and result.lineage_run_id is None
    assert snapshots(workspace) == before and LEDGER not in before
    assert len(LineageTracker().runs()) == lineage_runs
    assert get_recent_runs(tenant_id="acme", job_name="customers.replay") == []
    assert not (workspace / "specs" / "stripe" / "v1.1").exists()  # not even the registry
    assert replay_quarantine(load_job(quarantined_job)).rows_landed == 3  # the real replay still lands


def test_replay_of_one_run_leaves_other_runs_rows_alone(workspace: Path, quarantined_job: Path) -> None:
    write_contract(workspace)  # back to 1.0.0 for a second run with its own quarantine
    write_csv(workspace / "data" / "more.csv", ["cus_q01,q01@example.com,pending,1,2024-02-01T00:00:00Z"])
    more = write_job(workspace, {"source": {"type": "csv", "path": "../data/more.csv"}}, name="more.yaml")
    second_run = run_job(load_job(more))
    assert second_run.rows_quarantined == 1
    write_contract(workspace, fixed_contract())
    result = replay_quarantine(load_job(more), run=second_run.run_id[:8])
    assert (result.runs, result.rows_checked, result.rows_landed) == ([second_run.run_id], 1, 1)
    assert "cus_p01" not in ids(workspace) and "cus_q01" in ids(workspace)
    with pytest.raises(QuarantineEmptyError, match="is not a run with quarantined rows"):
        replay_quarantine(load_job(more), run="feedface")


def test_malformed_rows_stay_quarantined_and_are_not_replayable(workspace: Path) -> None:
    write_contract(workspace)
    path = write_csv(workspace / "data" / "c.csv", good_rows(0, 3))
    path.write_text(path.read_text() + 'cus_x,"unterminated\n', encoding="utf-8")
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})
    assert run_job(load_job(job)).rows_quarantined == 1
    result = replay_quarantine(load_job(job))
    assert (result.status, result.rows_not_replayable, result.rows_checked) == ("nothing_to_replay", 1, 0)
    assert LEDGER not in snapshots(workspace)


# ----- the CLI ------------------------------------------------------------------------------------
def test_cli_list_show_and_replay(
    workspace: Path, quarantined_job: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = str(quarantined_job)
    assert main(["quarantine", "list", job, "--json"]) == 0
    [run] = json.loads(capsys.readouterr().out)["runs"]
    assert (run["rows"], run["replayed"], run["quarantined"]) == (7, 0, 7)
    assert run["reasons"]["accepted_values:status"] == 7

    assert main(["quarantine", "replay", job, "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert (dry["status"], dry["rows_landed"]) == ("dry_run", 3)

    assert main(["quarantine", "replay", job]) == 0
    out = capsys.readouterr().out
    assert "rows landed" in out and "│ 3" in out and "4 (3 with new reasons)" in out

    assert main(["quarantine", "list", job]) == 0
    out = capsys.readouterr().out
    assert "7 row(s) in 1 run(s)" in out and "3 replayed, 4 quarantined" in out

    assert main(["quarantine", "show", job, "--run", run["run_id"][:10], "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["status"] for r in rows] == ["replayed"] * 3 + ["quarantined"] * 4
    assert rows[3]["reasons"] == ["minimum:balance"]
    assert rows[3]["first_reasons"] == ["accepted_values:status", "minimum:balance"]
    assert rows[3]["record"]["id"] == "cus_p04"

    assert main(["quarantine", "show", job, "--run", run["run_id"], "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "7 quarantined row(s), showing 2" in out and "replayed by" in out

    assert main(["quarantine", "replay", job, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows_landed"] == 0

    # an empty --run (a script's unset variable) names no run, even when the job has only one
    for command in ("show", "replay"):
        assert main(["quarantine", command, job, "--run", ""]) == 2
        assert "'' is not a run with quarantined rows" in capsys.readouterr().err


def test_cli_replay_of_a_job_without_quarantine_is_one_line_and_exit_2(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 3))
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})
    assert main(["quarantine", "replay", str(job)]) == 2  # before any run: no tables at all
    assert run_job(load_job(job)).rows_quarantined == 0
    before = snapshots(workspace)
    assert main(["quarantine", "replay", str(job)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 2 and captured.out == ""
    assert "has no quarantined rows in bronze.stripe_customers_quarantine; nothing to replay" in lines[1]
    assert "Traceback" not in captured.err
    assert snapshots(workspace) == before and LEDGER not in before
    assert LineageTracker().runs(job_name="customers.replay") == []
    assert main(["quarantine", "list", str(job)]) == 0
    assert "has no quarantined rows" in capsys.readouterr().out
    assert main(["quarantine", "show", str(job), "--run", "feedface"]) == 2
    assert "'feedface' is not a run with quarantined rows" in capsys.readouterr().err


def test_cli_refuses_a_parquet_target_in_one_line(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 1))
    job = write_job(
        workspace,
        {"source": {"type": "csv", "path": "../data/c.csv"}, "target": {"type": "parquet", "path": "../out"}},
    )
    assert main(["quarantine", "replay", str(job)]) == 1
    err = capsys.readouterr().err.strip()
    assert "quarantine replay needs an Iceberg target" in err and len(err.splitlines()) == 1


def test_replayed_counts_never_double(workspace: Path, quarantined_job: Path) -> None:
    replay_quarantine(load_job(quarantined_job))
    replay_quarantine(load_job(quarantined_job))
    rows = table(workspace, TABLE).scan(selected_fields=("id",)).to_arrow()
    assert rows.num_rows == pc.count_distinct(rows.column("id")).as_py() == 13


# ----- killed replays -----------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
#: Runs the replay of ``argv[1]``; the commit to the table named ``argv[2]`` prints a line and waits to
#: be killed (so the test kills the replay at a known point, not at some moment).
PAUSED_REPLAY = """
import sys, time
from dativo_ingest.ingest import load_job
from dativo_ingest.ingest.replay import replay_quarantine
from dativo_ingest.ingest.targets.iceberg import IcebergTarget

commit = IcebergTarget.commit
def paused(self, properties):
    if self.identifier == sys.argv[2]:
        print("committing " + self.identifier, flush=True)
        time.sleep(600)
    return commit(self, properties)
IcebergTarget.commit = paused
replay_quarantine(load_job(sys.argv[1]))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "killed_at",
    [LEDGER, TABLE],
    ids=["before-any-commit", "after-the-ledger-commit-before-the-target-commit"],
)
def test_a_sigkilled_replay_lands_nothing_and_the_rerun_lands_exactly_once(
    workspace: Path, quarantined_job: Path, killed_at: str
) -> None:
    before = snapshots(workspace)
    env = {**os.environ, "DATIVO_HOME": str(workspace), "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED_REPLAY, str(quarantined_job), killed_at],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"committing {killed_at}"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert snapshots(workspace)[TABLE] == before[TABLE]  # nothing landed
    assert len(ids(workspace)) == 10
    if killed_at == TABLE:  # the ledger holds the dead replay's decisions, which do not count
        assert table(workspace, LEDGER).scan().to_arrow().num_rows == 7
    assert {status for status, _ in states(quarantined_job).values()} == {"quarantined"}

    result = replay_quarantine(load_job(quarantined_job))
    assert (result.rows_checked, result.rows_landed, result.rows_still_quarantined) == (7, 3, 4)
    rows = table(workspace, TABLE).scan(selected_fields=("id",)).to_arrow()
    assert rows.num_rows == pc.count_distinct(rows.column("id")).as_py() == 13
    assert states(quarantined_job)["12"] == ("replayed", [])
    assert replay_quarantine(load_job(quarantined_job)).rows_landed == 0
    assert table(workspace, TABLE).scan().to_arrow().num_rows == 13


def test_a_composite_key_counts_the_rows_already_in_the_table(workspace: Path) -> None:
    contract = copy.deepcopy(CUSTOMERS_CONTRACT)
    contract["schema"] = [
        {"name": "order_id", "type": "long", "primaryKey": True, "primaryKeyPosition": 1},
        {"name": "line_no", "type": "long", "primaryKey": True, "primaryKeyPosition": 2},
        {"name": "status", "type": "string"},
    ]
    contract["data_quality"] = {
        "expectations": [{"type": "accepted_values", "column": "status", "values": ["open"]}]
    }
    write_contract(workspace, contract)
    rows = ["1,1,open", "1,2,open", "1,1,shipped", "2,1,shipped", "2,1,shipped"]
    write_csv(workspace / "data" / "orders.csv", rows, header="order_id,line_no,status")
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/orders.csv"}})
    assert run_job(load_job(job)).rows_quarantined == 3
    contract["version"] = "1.1.0"
    contract["data_quality"]["expectations"][0]["values"].append("shipped")
    write_contract(workspace, contract)
    result = replay_quarantine(load_job(job))
    assert (result.rows_landed, result.rows_still_quarantined) == (1, 2)
    assert result.rule_failures == {"unique:order_id+line_no": 2}  # (1, 1) landed before; (2, 1) twice
    keys = table(workspace, TABLE).scan().to_arrow().select(["order_id", "line_no"]).to_pylist()
    assert sorted((k["order_id"], k["line_no"]) for k in keys) == [(1, 1), (1, 2), (2, 1)]


def test_a_contract_the_registry_refuses_fails_the_replay_and_its_dry_run_alike(
    workspace: Path, quarantined_job: Path
) -> None:
    breaking = fixed_contract("1.1.0")  # a MINOR bump, but a type change needs a MAJOR one
    balance = next(c for c in breaking["schema"] if c["name"] == "balance")
    balance["type"] = "string"
    del balance["logicalTypeOptions"]
    write_contract(workspace, breaking)
    before = snapshots(workspace)
    for dry_run in (True, False):  # the dry run must not promise rows the replay would refuse
        with pytest.raises(DativoError, match=r"2\.0\.0"):
            replay_quarantine(load_job(quarantined_job), dry_run=dry_run)
    assert snapshots(workspace) == before
    assert not (workspace / "specs" / "stripe" / "v1.1").exists()
