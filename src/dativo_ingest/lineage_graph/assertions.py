"""The ``dataQualityAssertions`` input-dataset facet from a run's metrics.

An ingestion run reports ``metrics["assertions"]`` (``[{assertion, column, success}]``, one per contract
rule it enforced) and ``metrics["rule_failures"]`` (``{"<rule>:<column>": failing rows}``). Each assertion
becomes one spec ``Assertion``; its failing-row count (0 when it passed) is ``actual`` against an
``expected`` of ``"0"``. With ``rule_failures`` alone, every failed rule is reported as a failed assertion.
"""

from __future__ import annotations

from typing import Any

from openlineage.client.facet_v2 import data_quality_assertions_dataset as dqa

_TEXT_KEYS = ("severity", "name", "description", "expected", "actual", "content", "contentType")


def assertions_facet(metrics: dict[str, Any], producer: str) -> Any:
    """The facet for ``metrics``, or None when the run reported no assertions."""
    failures = {str(k): _count(v) for k, v in (metrics.get("rule_failures") or {}).items()}
    given = metrics.get("assertions")
    if not isinstance(given, list):
        given = [_from_failure(name, count) for name, count in sorted(failures.items())]
    found = [_assertion(item, failures) for item in given if isinstance(item, dict)]
    assertions = [a for a in found if a is not None]
    if not assertions:
        return None
    return dqa.DataQualityAssertionsDatasetFacet(assertions=assertions, producer=producer)


def _from_failure(name: str, count: int) -> dict[str, Any]:
    rule, _, column = name.partition(":")
    return {"assertion": rule, "column": column or None, "success": count == 0}


def _assertion(item: dict[str, Any], failures: dict[str, int]) -> dqa.Assertion | None:
    kind = str(item.get("assertion") or "").strip()
    if not kind:
        return None
    column = item.get("column")
    column = str(column) if column not in (None, "") else None
    name = str(item.get("name") or (f"{kind}:{column}" if column else kind))
    success = item.get("success")
    failed = failures.get(name)
    if not isinstance(success, bool):
        success = not failed
    text = {k: str(item[k]) for k in _TEXT_KEYS if item.get(k) is not None}
    text.setdefault("name", name)
    if failed is not None or success:
        text.setdefault("expected", "0")
        text.setdefault("actual", str(failed or 0))
    params = item.get("params")
    return dqa.Assertion(
        assertion=kind,
        success=success,
        column=column,
        params=dict(params) if isinstance(params, dict) and params else None,
        **text,
    )


def _count(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
