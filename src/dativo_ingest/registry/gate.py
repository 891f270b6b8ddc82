"""The pull-request gate: each change of each contract judged, located and, optionally, its impact read.

A change **passes** when an active entry of the accepted-changes file names it (``accepted``) or when the
new version carries the bump it needs (``versioned``); otherwise it is ``unversioned``, or ``expired`` when
the entry that accepted it has expired. ``fail_on`` decides which of those fail the gate: ``any`` (every
one), ``breaking`` (breaking ones only; smaller ones are reported as warnings) or ``never``.

A contract file deleted in the pull request (missing from the working tree, present in the baseline) is
one breaking change, ``<contract>:contract_removed``, that no version bump satisfies: only an accepted-
changes entry lets it pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from dativo_ingest.changes import Change, Diff, Severity, UsageSource
from dativo_ingest.changes.accepted import Acceptance, change_id, contract_keys
from dativo_ingest.changes.locate import ChangeLocator
from dativo_ingest.errors import UsageError, YAMLLoadError
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.registry.check import CheckResult, evaluate, load_baseline, load_removed
from dativo_ingest.registry.impact import Impact, ImpactReader
from dativo_ingest.registry.semver import required_version, satisfies
from dativo_ingest.yamlio import read_mapping

FAIL_ON = ("breaking", "any", "never")
#: Version of the ``--format json`` document (``schema`` key); bumped only on incompatible changes.
JSON_SCHEMA = "dativo.contract-check/1"
#: Kind of the one change of a contract deleted in the pull request.
CONTRACT_REMOVED = "contract_removed"


@dataclass(frozen=True)
class ChangeVerdict:
    """One change as the gate judged it."""

    change: Change
    line: int | None
    status: str  # accepted, versioned, expired or unversioned
    fails: bool
    acceptance: Acceptance | None = None

    @property
    def id(self) -> str:
        return change_id(self.change)

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, **self.change.to_dict()}
        data.update(
            needs=self.change.severity.label,
            line=self.line,
            status=self.status,
            fails=self.fails,
            acceptance=self.acceptance.to_dict() if self.acceptance else None,
        )
        return data


@dataclass
class ContractVerdict:
    """One contract file: the registry check's facts and its judged changes."""

    result: CheckResult
    contract_id: str | None
    changes: list[ChangeVerdict] = field(default_factory=list)
    impact: Impact | None = None
    removed: bool = False  # the file is deleted: its one change is the contract's removal

    @property
    def ok(self) -> bool:
        return not any(c.fails for c in self.changes)

    @property
    def required_version(self) -> str | None:
        """The version the contract needs for its changes that are not accepted."""
        if self.result.old_version is None or self.removed:
            return None
        needed = max(
            (c.change.severity for c in self.changes if c.status != "accepted"), default=Severity.NONE
        )
        return str(required_version(self.result.old_version, needed))

    @property
    def message(self) -> str:
        result = self.result
        if result.old_version is None:
            return result.message
        return f"{result.old_version} -> {result.new_version}: {self.verdict}"

    @property
    def verdict(self) -> str:
        """``4 change(s), breaking; 1 accepted; 1 failing, needs version >= 2.0.0`` (or ``...; ok``)."""
        failing = sum(c.fails for c in self.changes)
        accepted = sum(c.status == "accepted" for c in self.changes)
        expired = sum(c.status == "expired" for c in self.changes)
        kind = self.result.diff.change_type if self.result.diff else "none"
        parts = [f"{len(self.changes)} change(s), {kind}"]
        if accepted:
            parts.append(f"{accepted} accepted")
        if expired:
            parts.append(f"{expired} acceptance(s) expired")
        needs = (
            "no version bump allows a removal"
            if self.removed
            else f"needs version >= {self.required_version}"
        )
        verdict = f"{failing} failing, {needs}" if failing else "ok"
        return "; ".join([*parts, verdict])

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "path": r.path,
            "contract": r.name,
            "id": self.contract_id,
            "ok": self.ok,
            "baseline": r.baseline,
            "old_version": r.old_version,
            "new_version": None if self.removed else r.new_version,
            "removed": self.removed,
            "required_version": self.required_version,
            "change_type": r.diff.change_type if r.diff else "none",
            "message": self.message,
            "changes": [c.to_dict() for c in self.changes],
            "impact": self.impact.to_dict() if self.impact else None,
        }


@dataclass
class GateReport:
    """Every contract the gate judged, with the options that judged them."""

    contracts: list[ContractVerdict]
    fail_on: str
    today: date
    accepted_file: str | None = None
    unused: list[Acceptance] = field(default_factory=list)  # entries that named no change

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.contracts)

    def changes(self) -> Iterable[tuple[ContractVerdict, ChangeVerdict]]:
        for contract in self.contracts:
            for change in contract.changes:
                yield contract, change

    def summary(self) -> dict[str, int]:
        judged = [c for _, c in self.changes()]
        return {
            "contracts": len(self.contracts),
            "contracts_failing": sum(not c.ok for c in self.contracts),
            "changes": len(judged),
            "breaking": sum(c.change.is_breaking for c in judged),
            "failing": sum(c.fails for c in judged),
            "accepted": sum(c.status == "accepted" for c in judged),
            "expired": sum(c.status == "expired" for c in judged),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": JSON_SCHEMA,
            "ok": self.ok,
            "fail_on": self.fail_on,
            "today": self.today.isoformat(),
            "accepted_file": self.accepted_file,
            "summary": self.summary(),
            "contracts": [c.to_dict() for c in self.contracts],
            "unused_acceptances": [a.to_dict() for a in self.unused],
        }


def judge(
    change: Change,
    old_version: str,
    new_version: str | None,
    entries: Sequence[Acceptance],
    today: date,
    fail_on: str,
) -> tuple[str, bool, Acceptance | None]:
    """``(status, fails, acceptance)`` of one change (see the module docstring); ``new_version`` is None
    for a removed contract, which no version satisfies."""
    covering = [a for a in entries if a.covers(change)]
    active = next((a for a in covering if not a.expired(today)), None)
    if active is not None:
        return "accepted", False, active
    entry = covering[0] if covering else None
    if new_version is not None and satisfies(new_version, old_version, change.severity):
        return "versioned", False, entry
    status = "expired" if entry is not None else "unversioned"
    fails = fail_on == "any" or (fail_on == "breaking" and change.is_breaking)
    return status, fails, entry


def run_gate(
    paths: Sequence[str | Path],
    against: str,
    *,
    fail_on: str = "any",
    today: date,
    accepted: Sequence[Acceptance] = (),
    accepted_file: str | None = None,
    perspective: str = "spec",
    usage: UsageSource | None = None,
    impact: ImpactReader | None = None,
) -> GateReport:
    """Judge every contract file in ``paths`` against ``against`` (a specs directory or ``git:REF``)."""
    if fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)}, got '{fail_on}'", field="--fail-on")
    used: set[int] = set()
    contracts = []
    for path in paths:
        if not Path(path).exists():
            removed = load_removed(path, against)
            if removed is None:
                raise YAMLLoadError("file not found", path=path)  # neither here nor in the baseline
            verdict = _removed_verdict(path, *removed, accepted, today, fail_on, used)
            if impact is not None:
                gone = removed[0]
                columns = {"*": [c.id for c in verdict.changes]}  # every reader of every column
                verdict.impact = impact.impact(gone.source_type, gone.object_name, columns, today)
            contracts.append(verdict)
            continue
        data, text = read_mapping(path)
        new = AssetDefinition.from_dict(data, source=str(path))
        old, label = load_baseline(path, new, against, perspective=perspective, usage=usage)
        result = evaluate(str(path), new, old, label, perspective=perspective, usage=usage)
        keys = contract_keys(result.name, new.id, path)
        entries = [a for a in accepted if a.names(keys)]
        verdict = ContractVerdict(result, new.id)
        if result.diff is not None and old is not None:
            locator = ChangeLocator(text, old, new)
            ordered = sorted(result.diff.changes, key=lambda c: (-c.severity, c.path, c.kind))
            for change in ordered:
                status, fails, entry = judge(change, old.version, new.version, entries, today, fail_on)
                if entry is not None:
                    used.add(id(entry))
                verdict.changes.append(ChangeVerdict(change, locator.line(change), status, fails, entry))
            if impact is not None:
                verdict.impact = impact.impact(
                    new.source_type, new.object_name, _impact_columns(verdict, locator), today
                )
        contracts.append(verdict)
    unused = [a for a in accepted if id(a) not in used]
    return GateReport(contracts, fail_on, today, accepted_file, unused)


def _removed_verdict(
    path: str | Path,
    old: AssetDefinition,
    baseline: str,
    accepted: Sequence[Acceptance],
    today: date,
    fail_on: str,
    used: set[int],
) -> ContractVerdict:
    """A contract deleted in the pull request: one breaking change at line 1 (the file is gone)."""
    name = f"{old.source_type or '-'}/{old.object_name}"
    change = Change(
        name, CONTRACT_REMOVED, Severity.MAJOR, f"contract removed (was {old.version})",
        effect="removal", category="schema", old=old.version,
    )  # fmt: skip
    result = CheckResult(str(path), baseline, "removed", old.version, Diff([change], old_version=old.version))
    result.name, result.ok = name, False
    entries = [a for a in accepted if a.names(contract_keys(name, old.id, path))]
    status, fails, entry = judge(change, old.version, None, entries, today, fail_on)
    if entry is not None:
        used.add(id(entry))
    verdict = ContractVerdict(result, old.id, removed=True)
    verdict.changes.append(ChangeVerdict(change, 1, status, fails, entry))
    return verdict


def _impact_columns(verdict: ContractVerdict, locator: ChangeLocator) -> dict[str, list[str]]:
    """Changed column -> change ids whose downstream impact matters; ``"*"`` for contract-wide breaks.

    Added fields have no readers yet and documentation or metadata reaches nobody: they are left out."""
    columns: dict[str, list[str]] = {}
    for judged in verdict.changes:
        change = judged.change
        if (
            change.kind.startswith("field_added")
            or change.severity <= Severity.PATCH
            or change.category == "documentation"
        ):
            continue
        if locator.is_field(change.path):
            column = change.path.split(".", 1)[1] if locator.multi and "." in change.path else change.path
        elif change.is_breaking:
            column = "*"
        else:
            continue
        columns.setdefault(column, []).append(judged.id)
    return columns
