"""FOCUS conformance of `dativo finops export`, judged by the FinOps Foundation's own focus-validator.

The validator (``focus-validator`` 2.2.1, its own Python 3.12 venv, see the ``focus_validator`` fixture)
checks 578 rules for FOCUS 1.2. Two of them contradict each other for every file: InvoiceId-C-004-C
("InvoiceId MUST be null ...") and InvoiceId-C-005-C ("InvoiceId MUST NOT be null ...") are each checked
on every row without their conditions, so one of the pair always fails. The export fills InvoiceId (a
provisional invoice per billing account and month), so the one failure is InvoiceId-C-004-C.

focus-validator 2.2.1 ships rules for 1.2 only (``--supported-versions --block-download``) and cannot
download others here, so the 1.3 export is checked against the FOCUS 1.3 requirements model
(FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, ``specification/requirements_model/model_rules/datasets/
cost_and_usage/costandusage.json``, rules introduced in 1.3) and the 1.3 metadata pages
(``specification/metadata/dataset_instance``, ``.../recency``), and by the validator against 1.2: a 1.3
file is still a valid 1.2 file.
"""

from __future__ import annotations

import csv
import json
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.finops import export_focus
from dativo_ingest.finops.focus import COLUMNS, COLUMNS_1_3
from dativo_ingest.store import MetadataStore

from .conftest import store_run

PERIOD = "2025-03"
#: Rules focus-validator 2.2.1 checks for FOCUS 1.2 with the applicability criteria below.
RULES_1_2 = 578
#: The one rule no file can pass (see the module docstring).
CONTRADICTION = frozenset({"InvoiceId-C-004-C"})
#: What dativo can claim about itself (``--applicability-criteria``).
APPLICABILITY = (
    "BILLING_BASED_ON_PROVISIONED_RESOURCES_SUPPORTED",
    "RESOURCE_TYPE_ASSIGNMENT_SUPPORTED",
    "TAGGING_SUPPORTED",
)
#: FOCUS 1.3 columns, with the 1.3 requirements model's presence rules (CAU-CostAndUsage-D-0xx).
MANDATORY_1_3 = {"HostProviderName": "D-075-M", "ServiceProviderName": "D-076-M"}
ALLOCATION_1_3 = {
    "AllocatedMethodDetails": "D-069-C",
    "AllocatedMethodId": "D-070-C",
    "AllocatedResourceId": "D-071-C",
    "AllocatedResourceName": "D-072-C",
    "AllocatedTags": "D-073-C",
}
#: Deprecated in 1.3 (status Deprecated, presence still MUST): kept for 1.2 readers.
DEPRECATED_1_3 = ("ProviderName", "PublisherName")


@dataclass(frozen=True)
class Verdict:
    """One validator run: every rule it checked, the failed ones and their messages."""

    rules: frozenset[str]
    failed: frozenset[str]
    messages: dict[str, str]


def _package_parent(executable: Path) -> Path:
    done = subprocess.run(
        [
            str(executable.parent / "python"),
            "-c",
            "import focus_validator as f, os; print(os.path.dirname(os.path.dirname(f.__file__)))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return Path(done.stdout.strip())


def _validate(executable: Path, data_file: Path, version: str, out_dir: Path) -> Verdict:
    """Run the validator offline; it exits 0 even when rules fail, so the unittest XML is the verdict."""
    report = (out_dir / f"{data_file.name}.focus-{version}.xml").resolve()
    subprocess.run(
        [
            str(executable),
            "--data-file",
            str(data_file.resolve()),
            "--validate-version",
            version,
            "--block-download",
            "--applicability-criteria",
            ",".join(APPLICABILITY),
            "--output-type",
            "unittest",
            "--output-destination",
            str(report),
        ],
        cwd=_package_parent(executable),  # its currency check opens a path relative to the package
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rules: set[str] = set()
    failed: set[str] = set()
    messages: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        rule = (case.get("name") or "").split(" :: ", 1)[0]
        rules.add(rule)
        verdict = case.find("failure")
        if verdict is None:
            verdict = case.find("error")
        if verdict is not None:
            failed.add(rule)
            messages[rule] = verdict.get("message") or verdict.text or ""
    return Verdict(frozenset(rules), frozenset(failed), messages)


def _offline_versions(executable: Path) -> str:
    done = subprocess.run(
        [str(executable), "--supported-versions", "--block-download"],
        cwd=_package_parent(executable),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout + done.stderr


@pytest.fixture
def history(workspace: Path) -> list[dict]:
    """Runs of a month like the demo's and the FinOps tests': two tenants, three jobs, two cost centres
    and none, a run crossing the month end and one without API calls."""
    store = MetadataStore.for_workspace(workspace)
    start = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
    plan = [
        ("acme", "stripe-customers-ingest", "analytics", 120.5, 3000, start),
        ("acme", "stripe-customers-ingest", "analytics", 60.0, 1000, start + timedelta(days=1)),
        ("acme", "shop-orders-ingest", "commerce", 30.0, 0, start + timedelta(days=2, hours=5)),
        ("acme", "shop-orders-ingest", None, 10.0, 20, start + timedelta(days=9)),
        ("globex", "hubspot-ingest", "ops", 7.0, 500, start + timedelta(days=15)),
        ("globex", "hubspot-ingest", "ops", 4000.0, 9000, datetime(2025, 3, 31, 23, 10, tzinfo=UTC)),
    ]
    return [
        store_run(store, tenant=tenant, job=job, when=when, cpu=cpu, calls=calls, cost_center=centre)
        for tenant, job, centre, cpu, calls, when in plan
    ]


def _failures(verdict: Verdict) -> str:
    return "\n".join(f"{rule}: {verdict.messages[rule]}" for rule in sorted(verdict.failed))


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_focus_1_2_export_fails_only_the_self_contradicting_invoice_rule(
    history: list[dict], workspace: Path, focus_validator: Path, suffix: str
) -> None:
    out = workspace / f"focus-{PERIOD}{suffix}"
    assert main(["finops", "export", "--format", "focus", "--period", PERIOD, "--out", str(out)]) == 0
    verdict = _validate(focus_validator, out, "1.2", workspace)
    assert len(verdict.rules) == RULES_1_2
    assert verdict.failed == CONTRADICTION, _failures(verdict)
    # the rules that failed before: one ServiceCategory / ServiceSubcategory per ServiceName, InvoiceId
    for rule in ("ServiceName-C-005-C", "ServiceName-C-008-C", "CostAndUsage-D-033-O", "InvoiceId-C-005-C"):
        assert rule in verdict.rules and rule not in verdict.failed


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_focus_1_3_export_is_still_a_valid_1_2_file(
    history: list[dict], workspace: Path, focus_validator: Path
) -> None:
    out = workspace / "focus-1.3.csv"
    argv = ["finops", "export", "--period", PERIOD, "--out", str(out), "--focus-version", "1.3"]
    assert main(argv) == 0
    verdict = _validate(focus_validator, out, "1.2", workspace)
    assert len(verdict.rules) == RULES_1_2
    assert verdict.failed == CONTRADICTION, _failures(verdict)


@pytest.mark.slow
def test_focus_1_3_validated_when_the_validator_supports_it(
    history: list[dict], workspace: Path, focus_validator: Path
) -> None:
    if "1.3" not in _offline_versions(focus_validator):
        pytest.skip("this focus-validator has no FOCUS 1.3 rules offline (2.2.1 ships 1.2 only)")
    out = workspace / "focus-1.3.csv"
    export_focus(PERIOD, out, focus_version="1.3")
    verdict = _validate(focus_validator, out, "1.3", workspace)
    assert verdict.failed <= CONTRADICTION | {"CAU-InvoiceId-C-004-C"}, _failures(verdict)


def test_focus_1_3_columns_follow_the_1_3_requirements_model(history: list[dict], workspace: Path) -> None:
    out = workspace / "focus-1.3.csv"
    result = export_focus(PERIOD, out, focus_version="1.3", now=datetime(2025, 4, 2, tzinfo=UTC))
    rows = _rows(out)
    assert result["focus_version"] == "1.3" and len(rows) == result["rows"] > 0
    header = tuple(rows[0])
    assert header == COLUMNS_1_3
    assert set(COLUMNS) <= set(header)  # every 1.2 column, the deprecated ProviderName/PublisherName too
    assert set(MANDATORY_1_3) | set(ALLOCATION_1_3) == set(header) - set(COLUMNS)
    for row in rows:
        for column in MANDATORY_1_3:
            assert row[column] == "dativo", column  # the catalog's provider runs and hosts the service
        for column in DEPRECATED_1_3:
            assert row[column] == row["ServiceProviderName"]
        for column in ALLOCATION_1_3:
            assert row[column] == "", column  # no data generator-calculated split cost allocation
    services: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        services.setdefault(row["ServiceName"], set()).add(
            (row["ServiceCategory"], row["ServiceSubcategory"])
        )
    assert all(len(pairs) == 1 for pairs in services.values()), services
    table = pq.read_table(export_focus(PERIOD, workspace / "focus-1.3.parquet", focus_version="1.3")["path"])
    assert tuple(table.column_names) == COLUMNS_1_3
    assert all(table.column(c).null_count == 0 for c in MANDATORY_1_3)
    assert all(table.column(c).null_count == table.num_rows for c in ALLOCATION_1_3)


def test_focus_1_3_dataset_metadata(history: list[dict], workspace: Path) -> None:
    out = workspace / "focus-1.3.csv"
    result = export_focus(PERIOD, out, focus_version="1.3", now=datetime(2025, 4, 2, tzinfo=UTC))
    path = Path(result["metadata_path"])
    assert path == workspace / "focus-1.3.csv.metadata.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    assert meta["DataGenerator"]["DataGenerator"] == "dativo"
    (instance,) = meta["DatasetInstance"]
    assert instance["FocusDatasetId"] == "CostAndUsage" and instance["DatasetInstanceName"]
    (recency,) = meta["Recency"]
    assert recency["DatasetInstanceId"] == instance["DatasetInstanceId"]
    assert recency["DatasetInstanceLastUpdated"] == "2025-04-02T00:00:00Z"
    assert recency["TimeSectors"] == [
        {
            "TimeSectorStart": "2025-03-01T00:00:00Z",
            "TimeSectorEnd": "2025-04-01T00:00:00Z",
            "TimeSectorComplete": True,
            "TimeSectorLastUpdated": "2025-04-02T00:00:00Z",
        }
    ]
    (schema,) = meta["Schema"]
    assert schema["FocusVersion"] == "1.3" and schema["DatasetInstanceId"] == instance["DatasetInstanceId"]
    assert [d["ColumnName"] for d in schema["ColumnDefinition"]] == list(COLUMNS_1_3)
    types = {d["ColumnName"]: d["DataType"] for d in schema["ColumnDefinition"]}
    assert types["BilledCost"] == "Decimal" and types["ChargePeriodStart"] == "Date/Time"
    assert types["Tags"] == "JSON" and types["ServiceProviderName"] == "String"
    # the same instance next month and on a re-export; a tenant's export is another instance
    again = export_focus(
        "2025-04", workspace / "next.csv", focus_version="1.3", now=datetime(2025, 4, 9, tzinfo=UTC)
    )
    assert json.loads(Path(again["metadata_path"]).read_text())["DatasetInstance"] == [instance]
    assert not json.loads(Path(again["metadata_path"]).read_text())["Recency"][0]["TimeSectors"][0][
        "TimeSectorComplete"
    ]
    tenant = export_focus(PERIOD, workspace / "acme.csv", tenant_id="acme", focus_version="1.3")
    other = json.loads(Path(tenant["metadata_path"]).read_text())["DatasetInstance"][0]
    assert other["DatasetInstanceId"] != instance["DatasetInstanceId"]


def test_focus_1_2_export_writes_no_metadata_and_bad_versions_are_one_line(
    history: list[dict], workspace: Path, capsys: pytest.CaptureFixture
) -> None:
    out = workspace / "focus.csv"
    result = export_focus(PERIOD, out)
    assert result["focus_version"] == "1.2" and "metadata_path" not in result
    assert tuple(_rows(out)[0]) == COLUMNS and not (workspace / "focus.csv.metadata.json").exists()
    assert main(["finops", "export", "--period", PERIOD, "--out", str(out), "--focus-version", "1.4"]) == 1
    err = capsys.readouterr().err
    assert "focus_version: must be one of 1.2, 1.3" in err and len(err.strip().splitlines()) == 1
