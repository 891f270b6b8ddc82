"""An ingestion run's results per contract check, for the quality history.

The validator counts failing rows per rule (``required:email``, ``minimum:amount``, ``unique:id``,
``warn:pattern:code`` for severity warning); :func:`rule_names` maps each row-level check of the one
vocabulary onto those counters, and :func:`record_ingestion` stores one row per enforced check under the
same check ids ``contract test`` uses (:func:`dativo_ingest.attest.results.check_ids`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from dativo_ingest.attest.results import check_ids, outcome
from dativo_ingest.ingest.rules import ADVISORY
from dativo_ingest.odcs.convert import default_contract_id
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.quality import (
    AcceptedValues,
    Check,
    ForbiddenValues,
    Length,
    NotNull,
    Pattern,
    Range,
    Unique,
    UniqueKey,
    contract_checks,
)
from dativo_ingest.store import quality
from dativo_ingest.store.database import MetadataStore

#: The validator rules a row-level check is counted under (``<rule>:<column>``).
RULES_OF: dict[type, tuple[str, ...]] = {
    NotNull: ("required",),
    AcceptedValues: ("accepted_values",),
    ForbiddenValues: ("forbidden_values",),
    Pattern: ("pattern",),
    Range: ("minimum", "maximum"),
    Length: ("min_length", "max_length"),
}


def rule_names(check: Check) -> list[str]:
    """The validator's failure counters for ``check`` (``warn:`` first for severity warning); empty for
    checks the validator's per-column rules do not count (unique, table-level)."""
    prefix = ADVISORY if check.severity == "warning" else ""
    return [f"{prefix}{rule}:{check.column}" for rule in RULES_OF.get(type(check), ())]


def ingestion_rules(check: Check) -> list[str]:
    """The counters of ``check`` during ingestion, unique included (a warning-severity unique check is
    not counted there)."""
    if isinstance(check, Unique):
        return [f"unique:{check.column}"] if check.severity != "warning" else []
    if isinstance(check, UniqueKey):
        return [f"unique:{'+'.join(check.columns)}"]
    return rule_names(check)


def record_ingestion(
    store: MetadataStore,
    asset: AssetDefinition,
    failures: Mapping[str, int],
    rows_checked: int,
    *,
    run_id: str,
    where: str,
) -> int:
    """Store a run's result for every check it enforced; returns how many rows were stored."""
    checks = contract_checks(asset).checks
    at = datetime.now(UTC)
    rows = []
    for cid, check in zip(check_ids(checks), checks, strict=True):
        names = ingestion_rules(check)
        if not names:
            continue
        failed = sum(int(failures.get(n, 0)) for n in names)
        rows.append(
            {
                "recorded_at": at,
                "contract_id": asset.id or default_contract_id(asset),
                "contract_version": str(asset.version),
                "source_type": asset.source_type,
                "object_name": asset.object_name,
                "check_id": cid,
                "kind": check.kind,
                "column_name": check.column,
                "severity": check.severity,
                "status": outcome(check, failed > 0),
                "rows_checked": rows_checked,
                "failed": failed,
                "value": None,
                "origin": "ingestion",
                "location": where[:1024],
                "run_id": run_id,
            }
        )
    quality.insert_results(store, rows)
    return len(rows)
