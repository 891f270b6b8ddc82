"""The pull-request gate: a real git history (base on main, head on a branch), a real ingestion run
(lineage and FinOps recorded by the runner), a real dbt manifest import, then ``dativo contract check``
in every format, with accepted changes, their expiry and ``--fail-on``."""

from __future__ import annotations

import copy
import json
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml

from dativo_ingest.cli.app import commands_of, main
from dativo_ingest.cli.contract import ContractGroup
from dativo_ingest.ingest import load_job, run_job
from tests.ingest.helpers import CUSTOMERS_CONTRACT, good_rows, write_contract, write_csv, write_job

CONTRACT = "assets/customers.yaml"
TODAY = date.today()


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=t@x.com", "-c", "user.name=t", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def manifest() -> dict[str, Any]:
    """A dbt manifest: the contract's source, a staging model, two marts and two dashboards."""
    source = "source.shop.raw_stripe.customers"

    def model(name: str, sql: str, depends: list[str], owner: str | None = None) -> dict[str, Any]:
        return {
            "resource_type": "model",
            "name": name,
            "relation_name": f'"shop"."main"."{name}"',
            "depends_on": {"nodes": depends},
            "raw_code": sql,
            "config": {"meta": {"owner": owner}} if owner else {},
        }

    stg = "model.shop.stg_customers"
    return {
        "metadata": {"project_name": "shop", "adapter_type": "duckdb"},
        "sources": {
            source: {
                "name": "customers",
                "source_name": "raw_stripe",
                "relation_name": '"shop"."raw_stripe"."customers"',
                "columns": {c: {} for c in ("id", "email", "status", "balance", "created_at")},
                "config": {"meta": {"source_type": "stripe", "object": "customers"}},
            }
        },
        "nodes": {
            stg: model(
                "stg_customers",
                "select id, email, balance from {{ source('raw_stripe', 'customers') }}",
                [source],
            ),
            "model.shop.fct_contacts": model(
                "fct_contacts",
                "select id, lower(email) as email from {{ ref('stg_customers') }}",
                [stg],
                owner="crm-analytics@example.com",
            ),
            "model.shop.fct_balances": model(
                "fct_balances", "select id, balance from {{ ref('stg_customers') }}", [stg]
            ),
            "model.shop.dim_ids": model("dim_ids", "select id from {{ ref('stg_customers') }}", [stg]),
        },
        "exposures": {
            "exposure.shop.crm_dashboard": {
                "name": "crm_dashboard",
                "type": "dashboard",
                "url": "https://bi.example.com/crm",
                "owner": {"name": "CRM team", "email": "crm@example.com"},
                "depends_on": {"nodes": ["model.shop.fct_contacts"]},
            },
            "exposure.shop.id_audit": {
                "name": "id_audit",
                "type": "notebook",
                "owner": {"name": "Audit"},
                "depends_on": {"nodes": ["model.shop.dim_ids"]},
            },
        },
    }


def head_contract(version: str, *, drop_email: bool = True, balance_type: str = "string") -> dict[str, Any]:
    """The pull request's contract: ``email`` removed, ``balance`` retyped, optional ``phone`` added."""
    data = copy.deepcopy(CUSTOMERS_CONTRACT)
    data["version"] = version
    fields = [f for f in data["schema"] if not (drop_email and f["name"] == "email")]
    for f in fields:
        if f["name"] == "balance":
            f["type"] = balance_type
            f.pop("logicalTypeOptions", None)
    fields.append({"name": "phone", "type": "string"})
    data["schema"] = fields
    return data


@pytest.fixture
def repo(workspace: Path) -> Path:
    """The workspace as a git checkout: base contract on ``main``, one ingestion run, dbt lineage."""
    git(workspace, "init", "-q")
    (workspace / ".gitignore").write_text(".dativo/dativo.db*\nwarehouse/\n", encoding="utf-8")
    write_contract(workspace)
    write_csv(workspace / "data" / "customers.csv", good_rows(0, 20))
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/customers.csv"}})
    git(workspace, "add", ".")
    git(workspace, "commit", "-q", "-m", "base: customers 1.0.0")
    result = run_job(load_job(job))
    assert result.status == "success" and result.rows_written == 20
    (workspace / "target").mkdir()
    (workspace / "target" / "manifest.json").write_text(json.dumps(manifest()), encoding="utf-8")
    assert main(["dbt", "import-manifest", str(workspace / "target" / "manifest.json")]) == 0
    git(workspace, "checkout", "-q", "-b", "feature")
    return workspace


def open_pull_request(repo: Path, contract: dict[str, Any]) -> Path:
    path = write_contract(repo, contract)
    git(repo, "commit", "-q", "-am", "head: change customers")
    return path


def line_of_text(path: Path, needle: str, after: str | None = None) -> int:
    """1-based line of the first line containing ``needle`` (after the line containing ``after``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, t in enumerate(lines) if after in t) if after else 0
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["contract", "check", CONTRACT, "--against", "git:main", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def accept(repo: Path, entries: list[dict[str, Any]] | str) -> Path:
    path = repo / ".dativo" / "accepted-changes.yaml"
    path.parent.mkdir(exist_ok=True)
    text = entries if isinstance(entries, str) else yaml.safe_dump({"accepted": entries}, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def entry(change: str, expires: date, **extra: Any) -> dict[str, Any]:
    return {
        "contract": "stripe/customers",
        "change": change,
        "reason": "dashboards moved to email_hash",
        "who": "jane@example.com",
        "expires": expires.isoformat(),
        **extra,
    }


# ----- the pull request -----------------------------------------------------------------------------
def test_github_annotations_sit_at_the_changed_lines_and_the_summary_is_written(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = open_pull_request(repo, head_contract("1.1.0"))
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    code, out, err = check(capsys, "--format", "github")
    assert code == 1, err
    lines = out.splitlines()
    removed_at = line_of_text(path, "name: status")  # email's place: the field that now follows it
    retyped_at = line_of_text(path, "type: string", after="name: balance")
    added_at = line_of_text(path, "name: phone")
    assert any(
        line.startswith(f"::error file={CONTRACT},line={removed_at},title=stripe/customers%3A breaking")
        and "email: required field removed" in line
        for line in lines
    ), out
    assert any(line.startswith(f"::error file={CONTRACT},line={retyped_at},") for line in lines), out
    assert any(
        line.startswith(f"::warning file={CONTRACT},line={added_at},") and "phone" in line for line in lines
    ), out
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    assert "'email:field_removed'" in out  # how to accept it

    written = summary.read_text(encoding="utf-8")
    assert written.startswith("earlier step\n<!-- dativo-contract-check -->")  # appended, not replaced
    assert "exposure.shop.crm_dashboard" in written


def test_markdown_body_names_changes_bumps_exposures_owners_and_cost(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_pull_request(repo, head_contract("1.1.0"))
    code, body, err = check(capsys, "--format", "markdown")
    assert code == 1, err
    assert body.startswith(
        "<!-- dativo-contract-check -->\n## dativo contract check: ❌ 1 of 1 contract(s) fail"
    )
    assert (
        "| `stripe/customers` | `assets/customers.yaml` | 1.0.0 → 1.1.0 | 2.0.0 | ❌ 2 failing change(s) |"
        in body
    )
    change_rows = [line for line in body.splitlines() if line.startswith("| ❌") or line.startswith("| ⚠️")]
    assert any(
        "`email` required field removed" in r and "breaking (removal) | major" in r for r in change_rows
    )
    assert any("`balance` type changed" in r and "| breaking | major" in r for r in change_rows)
    assert any(
        "`phone` optional field added" in r and "non-breaking (compatible) | minor" in r for r in change_rows
    )

    impact = body.split("**Downstream impact**", 1)[1].split("**Cost", 1)[0]
    crm = next(line for line in impact.splitlines() if "crm_dashboard" in line)
    assert "[`exposure.shop.crm_dashboard`](https://bi.example.com/crm)" in crm
    assert "exposure (dashboard)" in crm and "crm@example.com" in crm and "`email`" in crm
    assert "`model.shop.fct_contacts` | model | crm-analytics@example.com | `email`" in impact
    assert "`model.shop.fct_balances` | model | no owner recorded | `balance`" in impact
    assert "dim_ids" not in impact and "id_audit" not in impact  # they read only id
    assert "stg_customers" in impact  # a hand-written staging model is a consumer too

    cost = body.split("**Cost of loading this contract**", 1)[1]
    assert "over 1 run(s)" in cost and "| `acme/customers` | 1 | $" in cost
    assert 'change: "email:field_removed"' in body  # the entry to accept it


def test_an_accepted_change_passes_until_its_expiry(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    open_pull_request(repo, head_contract("1.1.0"))
    expires = TODAY + timedelta(days=10)
    accept(repo, [entry("email:field_removed", expires), entry("balance", expires, who="ops")])

    code, out, err = check(capsys, "--today", TODAY.isoformat())
    assert code == 0, out + err
    assert (
        "PASS" in out and "3 accepted" in out
    )  # balance: its type and its dropped minimum and "accepted by jane@example.com until" in out

    code, out, _ = check(capsys, "--today", expires.isoformat(), "--format", "github")
    assert code == 0  # the last day is still accepted
    assert out.count("::notice ") == 3 and "::error" not in out

    code, out, _ = check(capsys, "--today", (expires + timedelta(days=1)).isoformat())
    assert code == 1
    assert "FAIL" in out and "2 acceptance(s) expired" in out  # the dropped minimum is versioned
    assert f"acceptance by jane@example.com expired {expires.isoformat()}; fails the gate again" in out


def test_today_comes_from_dativo_today(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    open_pull_request(repo, head_contract("1.1.0", balance_type="long"))
    accept(repo, [entry("email:field_removed", date(2030, 1, 31))])
    monkeypatch.setenv("DATIVO_TODAY", "2030-01-31")
    assert check(capsys)[0] == 0
    monkeypatch.setenv("DATIVO_TODAY", "2030-02-01")
    code, out, _ = check(capsys, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["today"] == "2030-02-01" and data["summary"]["expired"] == 1
    (removed,) = [c for c in data["contracts"][0]["changes"] if c["id"] == "email:field_removed"]
    assert removed["status"] == "expired" and removed["fails"] is True
    assert removed["acceptance"]["expires"] == "2030-01-31"


def test_fail_on_variants(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # only an optional field added, version not bumped: a MINOR change without its bump
    minor_only = head_contract("1.0.0", drop_email=False, balance_type="long")
    minor_only["schema"] = [*copy.deepcopy(CUSTOMERS_CONTRACT["schema"]), {"name": "phone", "type": "string"}]
    open_pull_request(repo, minor_only)
    assert check(capsys)[0] == 1  # --fail-on any is the default
    assert check(capsys, "--fail-on", "any")[0] == 1
    code, out, _ = check(capsys, "--fail-on", "breaking", "--format", "github")
    assert code == 0 and out.startswith("::warning ") and "::error" not in out
    assert check(capsys, "--fail-on", "never")[0] == 0

    write_contract(repo, head_contract("1.1.0"))  # now a breaking change too
    assert check(capsys, "--fail-on", "breaking")[0] == 1
    code, out, _ = check(capsys, "--fail-on", "never", "--format", "github")
    assert code == 0 and "::error" not in out and "::warning" in out

    write_contract(repo, head_contract("2.0.0"))  # every change carries its bump
    assert check(capsys, "--fail-on", "any")[0] == 0

    code, _, err = check(capsys, "--fail-on", "sometimes")
    assert code == 1 and "--fail-on must be one of breaking, any, never" in err


def test_junit_and_json_shapes(repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    open_pull_request(repo, head_contract("1.1.0"))
    accept(repo, [entry("balance:type_changed", TODAY + timedelta(days=1))])

    code, out, _ = check(capsys, "--format", "junit")
    assert code == 1
    suites = ET.fromstring(out)
    assert suites.tag == "testsuites" and suites.get("tests") == "4" and suites.get("failures") == "1"
    (suite,) = suites.findall("testsuite")
    assert suite.get("name") == f"stripe/customers ({CONTRACT})"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {
        "email:field_removed", "balance:type_changed", "balance:bound_removed", "phone:field_added"
    }  # fmt: skip
    failure = cases["email:field_removed"].find("failure")
    assert failure is not None and failure.get("type") == "field_removed"
    assert cases["email:field_removed"].get("file") == CONTRACT and cases["email:field_removed"].get("line")
    assert cases["balance:type_changed"].find("failure") is None
    assert "accepted by jane@example.com" in cases["balance:type_changed"].findtext("system-out", "")

    report = tmp_path / "gate.json"
    assert (
        check(capsys, "--format", "json", "--output", str(report), "--junit", str(tmp_path / "j.xml"))[0] == 1
    )
    data = json.loads(report.read_text(encoding="utf-8"))
    assert list(data) == ["schema", "ok", "fail_on", "today", "accepted_file", "summary", "contracts",
                          "unused_acceptances"]  # fmt: skip
    assert data["schema"] == "dativo.contract-check/1" and data["ok"] is False
    assert data["summary"] == {
        "contracts": 1, "contracts_failing": 1, "changes": 4, "breaking": 2, "failing": 1, "accepted": 1,
        "expired": 0,
    }  # fmt: skip
    (contract,) = data["contracts"]
    assert contract["required_version"] == "2.0.0" and contract["contract"] == "stripe/customers"
    assert [c["id"] for c in contract["changes"]] == [
        "balance:type_changed",
        "email:field_removed",
        "balance:bound_removed",
        "phone:field_added",
    ]
    first = contract["changes"][0]
    assert set(first) >= {"id", "path", "kind", "severity", "needs", "line", "status", "fails", "acceptance"}
    consumers = {c["unique_id"]: c for c in contract["impact"]["consumers"]}
    assert consumers["exposure.shop.crm_dashboard"]["owner"] == "crm@example.com"
    assert consumers["exposure.shop.crm_dashboard"]["changes"] == ["email:field_removed"]
    (job,) = contract["impact"]["cost"]["jobs"]
    assert (job["tenant_id"], job["job_name"], job["runs"]) == ("acme", "customers", 1)
    assert ET.parse(tmp_path / "j.xml").getroot().get("failures") == "1"


@pytest.mark.parametrize("output_format", ["text", "json", "junit", "github", "markdown"])
def test_output_is_deterministic(repo: Path, capsys: pytest.CaptureFixture[str], output_format: str) -> None:
    open_pull_request(repo, head_contract("1.1.0"))
    accept(repo, [entry("balance", TODAY + timedelta(days=3)), entry("nosuch", TODAY + timedelta(days=3))])
    runs = [check(capsys, "--format", output_format, "--today", TODAY.isoformat()) for _ in range(2)]
    assert runs[0] == runs[1] and runs[0][1]
    if output_format != "junit":
        assert "nosuch" in runs[0][1]  # an entry naming no change is reported


def test_a_new_contract_and_a_workspace_without_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    monkeypatch.setenv("DATIVO_HOME", str(home))
    monkeypatch.delenv("DATIVO_DATABASE_URL", raising=False)
    monkeypatch.chdir(home)
    git(home, "init", "-q")
    write_contract(home)
    git(home, "add", ".")
    git(home, "commit", "-q", "-m", "base")
    write_contract(home, head_contract("1.1.0"))
    code, body, _ = check(capsys, "--format", "markdown")
    assert code == 1 and "does not know this contract yet" in body and "No recorded runs" in body
    assert not (home / ".dativo").exists()  # reading impact created no store
    fresh = write_contract(home, name="leads.yaml")
    capsys.readouterr()
    assert main(["contract", "check", str(fresh), "--against", "git:main", "--format", "markdown"]) == 0
    assert "New contract 1.0.0" in capsys.readouterr().out


def test_the_contract_listing_shows_the_gate_help_without_importing_it() -> None:
    listed = ContractGroup.lazy_commands["check"]
    assert commands_of(listed.module)["check"].help == listed.help
