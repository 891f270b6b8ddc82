"""The data tests of a dbt manifest, as plain records (for mapping back to contract checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DbtTest:
    """One generic test attached to a model, seed, snapshot or source (singular tests are skipped)."""

    unique_id: str
    #: The test's name, with its package for non-core tests (``dbt_utils.accepted_range``).
    name: str
    #: The node it tests (``model.jaffle.orders``).
    attached_to: str
    column: str | None
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: str = "error"
    #: Nodes the test depends on besides the tested one (a relationships test's ``to``).
    refers_to: tuple[str, ...] = ()


def parse_tests(data: dict[str, Any]) -> list[DbtTest]:
    """Every generic test node of the manifest ``data``, sorted by unique id."""
    found: list[DbtTest] = []
    for uid, raw in sorted((data.get("nodes") or {}).items()):
        metadata = raw.get("test_metadata") if raw.get("resource_type") == "test" else None
        if not isinstance(metadata, dict) or not metadata.get("name"):
            continue
        depends = tuple((raw.get("depends_on") or {}).get("nodes") or ())
        attached = raw.get("attached_node") or (depends[0] if depends else None)
        if not attached:
            continue
        namespace = metadata.get("namespace")
        name = f"{namespace}.{metadata['name']}" if namespace else str(metadata["name"])
        kwargs = {k: v for k, v in (metadata.get("kwargs") or {}).items() if k != "model"}
        severity = str((raw.get("config") or {}).get("severity") or "error").lower()
        found.append(
            DbtTest(
                uid, name, attached, raw.get("column_name") or kwargs.get("column_name"), kwargs,
                "warning" if severity == "warn" else "error", tuple(d for d in depends if d != attached),
            )
        )  # fmt: skip
    return found
