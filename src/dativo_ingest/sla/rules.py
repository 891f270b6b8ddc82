"""SLA rules from a contract's ``slaProperties`` and their evaluation over run history (pure).

Checked from run history:

* ``latency`` / ``freshness`` (ODCS v3.0 calls it latency): a successful run finished within the window
  (``value`` ``unit``) before now; otherwise the data is stale. The run's finish time is the load time
  (``element`` names the column the SLA is about; the run history knows when rows landed, not the
  column's values);
* ``frequency``: consecutive successful runs at most one period apart (with :data:`GRACE` of the period
  as slack); each later run is a breach, and so is a last success more than a period before now.

Other properties (``retention``, ``timeOfAvailability``, cron ``schedule``s, availability dates) are
listed as ``not_checked``. Units: ``s``, ``m``/``min``, ``h``/``hr``, ``d``/``day``, ``w``/``week``,
``mo``/``month`` (30 days), ``y``/``yr``/``year`` (365 days), singular or plural.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from dativo_ingest.odcs.convert import default_contract_id
from dativo_ingest.odcs.model import AssetDefinition

FRESHNESS = ("latency", "freshness")
FREQUENCY = ("frequency",)
#: Slack allowed on a frequency period (a run an hour and 2 minutes after the last is not late).
GRACE = 0.1
#: Periods of history a frequency check looks at.
FREQUENCY_PERIODS = 10

_UNITS: dict[str, timedelta] = {}
for _names, _delta in (
    (("s", "sec", "second"), timedelta(seconds=1)),
    (("m", "min", "minute"), timedelta(minutes=1)),
    (("h", "hr", "hour"), timedelta(hours=1)),
    (("d", "day"), timedelta(days=1)),
    (("w", "wk", "week"), timedelta(weeks=1)),
    (("mo", "mon", "month"), timedelta(days=30)),
    (("y", "yr", "year"), timedelta(days=365)),
):
    for _name in _names:
        _UNITS[_name] = _delta
        _UNITS[_name + "s"] = _delta


class Run(Protocol):
    """What the evaluation reads of a run (the store's ``RunRecord`` has it)."""

    @property
    def run_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def finished_at(self) -> datetime: ...


@dataclass(frozen=True)
class SlaRule:
    """One entry of ``slaProperties`` (``name``: its ``property``); ``window`` is set for the
    properties checked from runs."""

    name: str
    value: Any
    unit: str | None = None
    element: str | None = None
    window: timedelta | None = None
    problem: str | None = None  # why a checkable property cannot be checked (bad unit or value)

    @property
    def label(self) -> str:
        return f"{self.name} {self.value}{' ' + self.unit if self.unit else ''}"


@dataclass
class SlaResult:
    """The state of one rule: ``met``, ``breached`` or ``not_checked``, with its breaches."""

    property: str
    value: Any
    unit: str | None
    element: str | None
    status: str
    detail: str
    last_success: str | None = None
    breaches: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SlaSubject:
    """What an SLA check needs of a contract (kept by the AI context's cached views, too)."""

    contract_id: str
    source_type: str | None
    object_name: str
    version: str
    rules: tuple[SlaRule, ...]

    @classmethod
    def of(cls, asset: AssetDefinition) -> SlaSubject:
        return cls(
            asset.id or default_contract_id(asset),
            asset.source_type,
            asset.object_name,
            asset.version,
            tuple(sla_rules(asset)),
        )

    @property
    def name(self) -> str:
        return f"{self.source_type}/{self.object_name}" if self.source_type else self.object_name


def duration(value: Any, unit: str | None) -> timedelta | None:
    """``value`` ``unit`` as a timedelta (None when either cannot be read)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    step = _UNITS.get(str(unit or "").strip().lower())
    return step * value if step is not None else None


def sla_rules(asset: AssetDefinition) -> list[SlaRule]:
    """The contract's SLA properties as rules, in contract order (retention from ``compliance``)."""
    rules = []
    for entry in asset.sla_properties:
        if not isinstance(entry, dict) or "property" not in entry:
            continue
        name = str(entry["property"])
        value, unit = entry.get("value"), entry.get("unit")
        rule = SlaRule(name, value, unit, entry.get("element"))
        if name.lower() in FRESHNESS + FREQUENCY:
            window = duration(value, unit)
            problem = None if window else f"cannot read {value!r} {unit or ''} as a duration".strip()
            rule = SlaRule(name, value, unit, entry.get("element"), window, problem)
        rules.append(rule)
    if asset.retention_days is not None:
        rules.append(SlaRule("retention", asset.retention_days, "d"))
    return rules


def evaluate(rules: Sequence[SlaRule], runs: Iterable[Run], now: datetime) -> list[SlaResult]:
    """Each rule's result against ``runs`` (any order) as of ``now`` (timezone-aware)."""
    successes = sorted(
        (r for r in runs if r.status == "success" and r.finished_at <= now), key=lambda r: r.finished_at
    )
    last = successes[-1] if successes else None
    results = []
    for rule in rules:
        prop = rule.name.lower()
        result = SlaResult(
            rule.name,
            rule.value,
            rule.unit,
            rule.element,
            "not_checked",
            "not measurable from run history",
            last_success=_iso(last.finished_at) if last else None,
        )
        if prop in FRESHNESS + FREQUENCY and rule.window is None:
            result.detail = rule.problem or "no duration"
        elif prop in FRESHNESS and rule.window is not None:
            _freshness(rule, rule.window, last, now, result)
        elif prop in FREQUENCY and rule.window is not None:
            _frequency(rule, rule.window, successes, now, result)
        results.append(result)
    return results


def _freshness(rule: SlaRule, window: timedelta, last: Run | None, now: datetime, result: SlaResult) -> None:
    if last is not None and now - last.finished_at <= window:
        result.status, result.detail = "met", f"last successful run {_ago(now - last.finished_at)} ago"
        return
    since = f"last successful run {_ago(now - last.finished_at)} ago" if last else "no successful run"
    result.status = "breached"
    result.detail = f"stale: {since}, {rule.label} allows {_ago(window)}"
    result.breaches.append(
        {
            "property": rule.name,
            "kind": "stale",
            "message": f"{rule.label} breached: {since}",
            "run_id": last.run_id if last else None,
            "due_at": _iso(last.finished_at + window) if last else None,
            "late_by_seconds": round((now - last.finished_at - window).total_seconds()) if last else None,
        }
    )


def _frequency(
    rule: SlaRule, period: timedelta, successes: Sequence[Run], now: datetime, result: SlaResult
) -> None:
    allowed = period * (1 + GRACE)
    since = now - period * FREQUENCY_PERIODS
    previous: Run | None = None
    for run in successes:
        if previous is not None and run.finished_at >= since:
            gap = run.finished_at - previous.finished_at
            if gap > allowed:
                result.breaches.append(
                    {
                        "property": rule.name,
                        "kind": "late_run",
                        "message": f"{rule.label} breached: run {run.run_id} finished {_ago(gap)} after "
                        f"the previous one",
                        "run_id": run.run_id,
                        "due_at": _iso(previous.finished_at + period),
                        "late_by_seconds": round((gap - period).total_seconds()),
                    }
                )
        previous = run
    last = successes[-1] if successes else None
    if last is None or now - last.finished_at > allowed:
        since_text = (
            f"last successful run {_ago(now - last.finished_at)} ago" if last else "no successful run"
        )
        result.breaches.append(
            {
                "property": rule.name,
                "kind": "overdue",
                "message": f"{rule.label} breached: next run overdue ({since_text})",
                "run_id": last.run_id if last else None,
                "due_at": _iso(last.finished_at + period) if last else None,
                "late_by_seconds": round((now - last.finished_at - period).total_seconds()) if last else None,
            }
        )
    if result.breaches:
        result.status = "breached"
        result.detail = f"{len(result.breaches)} breach(es) in the last {FREQUENCY_PERIODS} periods"
    else:
        result.status, result.detail = "met", f"runs at most {_ago(period)} apart"


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            return f"{whole}{unit}" if not rest or unit == "min" else f"{seconds / size:.1f}{unit}"
    return f"{seconds}s"
