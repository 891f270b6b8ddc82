"""What a ``contract test`` found, check by check (pure: no I/O).

Every check of :func:`~dativo_ingest.odcs.quality.contract_checks` gets a stable id (:func:`check_ids`:
``not_null:email``, ``range:amount``, ``row_count``; a second check of the same kind on the same column
gets ``#2``), the same id in ``contract test`` results, ingestion runs and the quality history. A
:class:`CheckResult` says how many rows were checked and failed, and its status: ``passed``, ``failed``,
``warned`` (a failing check of severity warning), or ``skipped`` (with the reason: never silently passed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from dativo_ingest.odcs.quality import OPERATORS, Check, ColumnMetric, RowCount, SqlCheck, Threshold

PASSED, FAILED, WARNED, SKIPPED = "passed", "failed", "warned", "skipped"


def check_id(check: Check) -> str:
    """The id of ``check`` before duplicates are numbered: ``kind:column`` (``kind`` for the table;
    ``unique_key:a+b`` for a composite key)."""
    columns = getattr(check, "columns", ())
    if check.column is None and columns:
        return f"{check.kind}:{'+'.join(columns)}"
    return f"{check.kind}:{check.column}" if check.column else check.kind


def check_ids(checks: Iterable[Check]) -> list[str]:
    """Stable ids of ``checks`` in order; the n-th check with the same id gets ``#n`` (n >= 2)."""
    seen: dict[str, int] = {}
    ids = []
    for check in checks:
        base = check_id(check)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return ids


def threshold_holds(value: float, threshold: Threshold) -> bool:
    """True when ``value`` meets every ``(operator, bound)`` of an ODCS threshold (none: must be 0)."""
    if not threshold:
        return value == 0
    for operator, bound in threshold:
        sql = OPERATORS.get(operator)
        if sql in ("between", "not between"):
            low, high = sorted(float(b) for b in bound)
            inside = low <= value <= high
            if inside != (sql == "between"):
                return False
            continue
        number = float(bound)
        ok = {
            "=": value == number,
            "<>": value != number,
            ">": value > number,
            ">=": value >= number,
            "<": value < number,
            "<=": value <= number,
        }.get(sql or "", False)
        if not ok:
            return False
    return True


def describe_threshold(threshold: Threshold) -> str:
    """``mustBeLessThan 5`` style text of a threshold (``mustBe 0`` when none)."""
    return ", ".join(f"{op} {bound}" for op, bound in threshold) or "mustBe 0"


@dataclass
class CheckResult:
    """One check's outcome on one table."""

    id: str
    kind: str
    column: str | None
    severity: str
    status: str
    rows_checked: int | None = None
    failed: int | None = None
    #: A table-level check's measured value (row count, metric, SQL result) and what it had to meet.
    value: float | None = None
    expected: str | None = None
    reason: str | None = None
    #: Up to ``--sample`` failing rows (restricted columns masked for a requester who is not elevated).
    examples: list[dict[str, Any]] = field(default_factory=list)
    #: ``unique``: how many distinct values repeat (what dbt's ``unique`` test counts).
    duplicated_values: int | None = None
    written_at: str = ""

    @property
    def share(self) -> float | None:
        if self.failed is None or not self.rows_checked:
            return None
        return self.failed / self.rows_checked

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["share"] = self.share
        return {k: v for k, v in data.items() if v is not None or k in ("failed", "rows_checked")}


def measured(
    cid: str,
    check: RowCount | ColumnMetric | SqlCheck,
    total: int,
    value: float,
    failed: int | None = None,
) -> CheckResult:
    """The result of a check whose measured ``value`` must meet ``check.threshold`` (a row count, a
    column metric, a SQL rule with a threshold)."""
    holds = threshold_holds(value, check.threshold)
    return CheckResult(
        cid,
        check.kind,
        check.column,
        check.severity,
        outcome(check, not holds),
        total,
        failed,
        value=value,
        expected=describe_threshold(check.threshold),
        written_at=check.origin.path,
    )


def metric_result(cid: str, check: ColumnMetric, failed: int, total: int) -> CheckResult:
    """A column metric over ``failed`` of ``total`` rows (as a percentage when its unit says so)."""
    value = failed * 100.0 / total if check.unit == "percent" and total else float(failed)
    return measured(cid, check, total, value, failed)


def outcome(check: Check, failing: bool) -> str:
    """The status of a check that ran: failed (or warned for severity warning), else passed."""
    if not failing:
        return PASSED
    return WARNED if check.severity == "warning" else FAILED


@dataclass
class TestReport:
    """Every check's result for one contract on one server/table."""

    contract_id: str
    contract_version: str
    source_type: str | None
    object_name: str | None
    server: str
    where: str
    engine: str
    results: list[CheckResult]
    rows_checked: int
    started_at: str
    duration_seconds: float
    filter: str | None = None
    warnings: list[str] = field(default_factory=list)
    lineage_run_id: str | None = None

    @property
    def passed(self) -> bool:
        return not any(r.status == FAILED for r in self.results)

    def counts(self) -> dict[str, int]:
        out = {PASSED: 0, FAILED: 0, WARNED: 0, SKIPPED: 0}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": {"id": self.contract_id, "version": self.contract_version},
            "server": self.server,
            "where": self.where,
            "engine": self.engine,
            "filter": self.filter,
            "passed": self.passed,
            "summary": self.counts(),
            "rows_checked": self.rows_checked,
            "started_at": self.started_at,
            "duration_seconds": round(self.duration_seconds, 3),
            "warnings": list(self.warnings),
            "lineage_run_id": self.lineage_run_id,
            "checks": [r.to_dict() for r in self.results],
        }


def junit_xml(report: TestReport) -> str:
    """The report as JUnit XML: one testsuite, one testcase per check (failure / skipped elements)."""
    counts = report.counts()
    suite = ET.Element(
        "testsuite",
        {
            "name": f"dativo contract test {report.contract_id}",
            "tests": str(len(report.results)),
            "failures": str(counts[FAILED]),
            "skipped": str(counts[SKIPPED]),
            "errors": "0",
            "time": f"{report.duration_seconds:.3f}",
            "timestamp": report.started_at,
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("contract_version", report.contract_version),
        ("server", report.server),
        ("where", report.where),
        ("filter", report.filter or ""),
    ):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for r in report.results:
        case = ET.SubElement(
            suite, "testcase", {"classname": f"{report.contract_id}.{r.column or 'table'}", "name": r.id}
        )
        message = _summary(r)
        if r.status == FAILED:
            ET.SubElement(case, "failure", {"message": message, "type": r.kind}).text = message
        elif r.status == SKIPPED:
            ET.SubElement(case, "skipped", {"message": r.reason or "skipped"})
        elif r.status == WARNED:
            ET.SubElement(case, "system-out").text = f"warning: {message}"
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def _summary(r: CheckResult) -> str:
    if r.failed is None and r.value is None and r.reason:
        return f"{r.id}: {r.reason}"
    if r.value is not None:
        return f"{r.id}: value {r.value:g}, expected {r.expected}"
    return f"{r.id}: {r.failed} of {r.rows_checked} rows failed"
