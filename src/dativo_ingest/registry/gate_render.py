"""The gate's report in the shapes CI systems read: a pull-request comment (Markdown), GitHub workflow
commands (annotations at the changed line), JUnit XML and the stable JSON document.

Every renderer is a pure function of a :class:`~dativo_ingest.registry.gate.GateReport`: the same report
renders to the same bytes (changes sorted by severity, path and kind; consumers by kind and id).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

from dativo_ingest.changes import Severity
from dativo_ingest.changes.engine import CHANGE_TYPES
from dativo_ingest.registry.gate import CONTRACT_REMOVED, ChangeVerdict, ContractVerdict, GateReport

#: First line of the comment body, so a workflow can find and update its own comment.
COMMENT_MARKER = "<!-- dativo-contract-check -->"
ACCEPTED_FILE = ".dativo/accepted-changes.yaml"


# ----- shared wording -----------------------------------------------------------------------------
def change_class(judged: ChangeVerdict) -> str:
    """``breaking (removal)``, ``non-breaking (loosening)``, ``metadata (metadata)``."""
    kind, effect = CHANGE_TYPES[judged.change.severity], judged.change.effect
    return kind if effect == kind else f"{kind} ({effect})"


def status_text(judged: ChangeVerdict) -> str:
    """What the gate made of a change, in words."""
    entry = judged.acceptance
    if judged.status == "accepted" and entry is not None:
        return f"accepted by {entry.who} until {entry.expires.isoformat()}: {entry.reason}"
    if judged.status == "expired" and entry is not None:
        verdict = "fails the gate again" if judged.fails else "no longer accepted"
        return f"acceptance by {entry.who} expired {entry.expires.isoformat()}; {verdict}"
    if judged.status == "versioned":
        return "versioned"
    if judged.change.kind == CONTRACT_REMOVED:
        return "fails: the contract is removed" if judged.fails else "contract removed (not failing)"
    return "fails: version bump too small" if judged.fails else "version bump too small (not failing)"


def money(amount: Decimal) -> str:
    """``$12.34``; four decimals below a dollar and six below a cent (ingestion runs are cheap)."""
    if amount >= 1:
        return f"${amount:,.2f}"
    return f"${amount:.4f}" if amount >= Decimal("0.01") or amount == 0 else f"${amount:.6f}"


def _display_path(path: str, root: Path) -> str:
    """``path`` relative to ``root`` (the repository checkout) when inside it, with ``/`` separators."""
    candidate = Path(path)
    try:
        return candidate.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return candidate.as_posix()


# ----- GitHub workflow commands -------------------------------------------------------------------
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_level(judged: ChangeVerdict) -> str:
    """``error`` for a change that fails the gate, ``notice`` for an accepted or patch-level one,
    ``warning`` for the rest (a versioned breaking change, an unversioned one under ``--fail-on
    breaking``)."""
    if judged.fails:
        return "error"
    if judged.status == "accepted" or judged.change.severity <= Severity.PATCH:
        return "notice"
    return "warning"


def github_annotations(report: GateReport, root: Path) -> str:
    """One ``::error``/``::warning``/``::notice`` line per change, at the changed line of the file."""
    lines = []
    for contract, judged in report.changes():
        file = _display_path(contract.result.path, root)
        change = judged.change
        title = f"{contract.result.name}: {CHANGE_TYPES[change.severity]} change ({change.kind})"
        result = contract.result
        if contract.removed:
            message = f"{change}: the file is deleted, every consumer loses it; {status_text(judged)}."
        else:
            message = f"{change}. Needs a {change.severity.label} version bump"
            message += f" ({result.old_version} -> {result.new_version}); {status_text(judged)}."
        if judged.fails:
            message += f" Accept it in {ACCEPTED_FILE} as '{judged.id}'."
        props = [f"file={_escape_property(file)}"]
        if judged.line is not None:
            props.append(f"line={judged.line}")
        props.append(f"title={_escape_property(title)}")
        lines.append(f"::{annotation_level(judged)} {','.join(props)}::{_escape_data(message)}")
    for entry in report.unused:
        file = _display_path(report.accepted_file or ACCEPTED_FILE, root)
        props = [f"file={_escape_property(file)}"] + ([f"line={entry.line}"] if entry.line else [])
        props.append(f"title={_escape_property('accepted change names no change')}")
        message = f"{entry.contract} {entry.change} (expires {entry.expires}) matches no change of this check"
        lines.append(f"::warning {','.join(props)}::{_escape_data(message)}")
    return "".join(line + "\n" for line in lines)


# ----- Markdown (pull-request comment, job summary) -----------------------------------------------
def _cell(text: object) -> str:
    """Table-cell text: pipes escaped, newlines flattened."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: object) -> str:
    value = str(text).replace("\n", " ")
    fence = "``" if "`" in value else "`"
    return f"{fence}{value}{fence}" if fence == "`" else f"{fence} {value} {fence}"


_MARK = {"error": "❌", "warning": "⚠️", "notice": "✅"}


def markdown(report: GateReport, root: Path) -> str:
    """The pull-request comment: verdict, each change with its class and the bump it needs, downstream
    impact (consumers and their owners) and the last days' cost of the jobs loading each contract."""
    summary = report.summary()
    failing = summary["contracts_failing"]
    head = (
        f"❌ {failing} of {summary['contracts']} contract(s) fail"
        if failing
        else f"✅ {summary['contracts']} contract(s) pass"
    )
    out = [COMMENT_MARKER, f"## dativo contract check: {head}", ""]
    facts = f"{summary['changes']} change(s), {summary['breaking']} breaking"
    if summary["accepted"]:
        facts += f", {summary['accepted']} accepted"
    if summary["expired"]:
        facts += f", {summary['expired']} with an expired acceptance"
    out += [f"{facts}; failing on `{report.fail_on}` changes (today {report.today.isoformat()}).", ""]
    out += ["| Contract | File | Version | Needs | Result |", "|---|---|---|---|---|"]
    for contract in report.contracts:
        r = contract.result
        version = f"{r.old_version} → {r.new_version}" if r.old_version else f"{r.new_version} (new)"
        needs = contract.required_version or "-"
        failing_changes = sum(c.fails for c in contract.changes)
        verdict = f"❌ {failing_changes} failing change(s)" if failing_changes else "✅ pass"
        file = _display_path(r.path, root)
        out.append(f"| {_code(r.name)} | {_code(file)} | {version} | {needs} | {verdict} |")
    for contract in report.contracts:
        out += _contract_section(contract, report, root)
    if report.unused:
        out += [
            "",
            f"**Unused entries in `{report.accepted_file or ACCEPTED_FILE}`** (they name no change):",
            "",
        ]
        for entry in report.unused:
            line = f" (line {entry.line})" if entry.line else ""
            out.append(f"- {_code(entry.contract)} {_code(entry.change)}{line}, expires {entry.expires}")
    return "\n".join(out).rstrip() + "\n"


def _contract_section(contract: ContractVerdict, report: GateReport, root: Path) -> list[str]:
    r = contract.result
    file = _display_path(r.path, root)
    out = ["", f"### {_code(r.name)} — {_code(file)}", ""]
    if r.old_version is None:
        return [*out, f"New contract {r.new_version} (no baseline in {_code(r.baseline)})."]
    if not contract.changes:
        return [*out, f"{r.old_version} → {r.new_version}: no changes against {_code(r.baseline)}."]
    out += [f"{r.old_version} → {r.new_version} against {_code(r.baseline)}: {_cell(contract.verdict)}.", ""]
    out += ["| | Change | Class | Needs | Line | Status |", "|---|---|---|---|---|---|"]
    for judged in contract.changes:
        mark = _MARK[annotation_level(judged)]
        where = f"L{judged.line}" if judged.line else "-"
        change = f"{_code(judged.change.path or '(contract)')} {_cell(judged.change.message)}"
        out.append(
            f"| {mark} | {change} | {change_class(judged)} | {judged.change.severity.label} | {where} "
            f"| {_cell(status_text(judged))} |"
        )
    out += _impact_section(contract)
    failing = [c for c in contract.changes if c.fails]
    if failing:
        out += [
            "",
            f"To accept a failing change, add an entry to `{ACCEPTED_FILE}`:",
            "",
            "```yaml",
            "accepted:",
        ]
        for judged in failing:
            out += [
                f"  - contract: {r.name}",
                f'    change: "{judged.id}"',
                "    reason: <why consumers can take it>",
                "    who: <you>",
                "    expires: <YYYY-MM-DD>",
            ]
        out.append("```")
    return out


def _impact_section(contract: ContractVerdict) -> list[str]:
    impact = contract.impact
    if impact is None:
        return []
    out = ["", "**Downstream impact**", ""]
    if not impact.known:
        out.append(
            "The lineage store does not know this contract yet (`dativo dbt import-manifest` records dbt "
            "models and exposures)."
        )
    elif not impact.consumers:
        out.append("No dbt model or exposure reads the changed columns.")
    else:
        out += ["| Consumer | Kind | Owner | Reads |", "|---|---|---|---|"]
        for consumer in impact.consumers:
            kind = f"{consumer.kind} ({consumer.type})" if consumer.type else consumer.kind
            name = (
                f"[{_code(consumer.unique_id)}]({consumer.url})"
                if consumer.url
                else _code(consumer.unique_id)
            )
            reads = ", ".join("whole contract" if c == "*" else _code(c) for c in consumer.columns)
            out.append(f"| {name} | {kind} | {_cell(consumer.owner or 'no owner recorded')} | {reads} |")
    out += [
        "",
        f"**Cost of loading this contract** ({impact.days} days, {impact.first_day} to {impact.last_day})",
        "",
    ]
    if not impact.jobs:
        out.append("No recorded runs of a job loading it.")
        return out
    runs = sum(j.runs for j in impact.jobs)
    out += [f"{money(impact.cost_usd)} over {runs} run(s):", ""]
    out += ["| Job | Runs | Cost | Last run |", "|---|---|---|---|"]
    for job in impact.jobs:
        out.append(
            f"| {_code(f'{job.tenant_id}/{job.job_name}')} | {job.runs} | {money(job.cost_usd)} "
            f"| {job.last_run_at or '-'} |"
        )
    return out


# ----- JUnit XML ----------------------------------------------------------------------------------
def junit(report: GateReport, root: Path) -> str:
    """``<testsuites>`` with one ``<testsuite>`` per contract file and one ``<testcase>`` per change (a
    contract without changes has one passing case); failing changes carry a ``<failure>``."""
    summary = report.summary()
    failures = str(summary["failing"])
    suites = ET.Element("testsuites", name="dativo contract check", tests="0", failures=failures, errors="0")
    total = 0
    for contract in report.contracts:
        r = contract.result
        file = _display_path(r.path, root)
        cases = contract.changes
        suite = ET.SubElement(
            suites, "testsuite", name=f"{r.name} ({file})", tests=str(max(len(cases), 1)),
            failures=str(sum(c.fails for c in cases)), errors="0", skipped="0",
        )  # fmt: skip
        classname = "contract." + r.name.replace("/", ".")
        if not cases:
            case = ET.SubElement(suite, "testcase", name=contract.message, classname=classname, file=file)
            total += 1
            continue
        for judged in cases:
            total += 1
            case = ET.SubElement(suite, "testcase", name=judged.id, classname=classname, file=file)
            if judged.line is not None:
                case.set("line", str(judged.line))
            text = f"{judged.change} [{change_class(judged)}; needs {judged.change.severity.label}]"
            if judged.fails:
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=f"{judged.change}: {status_text(judged)}",
                    type=judged.change.kind,
                )
                failure.text = f"{text}\n{contract.message}"
            else:
                ET.SubElement(case, "system-out").text = f"{text}: {status_text(judged)}"
    suites.set("tests", str(total))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# ----- JSON ---------------------------------------------------------------------------------------
def as_json(report: GateReport) -> str:
    """The report as the documented JSON document (``schema: dativo.contract-check/1``)."""
    return json.dumps(report.to_dict(), indent=2, sort_keys=False, default=str) + "\n"
