"""Usage-aware removal: removing a column nobody reads is MINOR, a read one is MAJOR and names readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_ingest.changes import Severity, StaticUsage, UsageSource, classify
from dativo_ingest.contracts import BreakingChangeError, ContractManager
from tests.registry.conftest import contract


class DbtUsage:
    """A small usage source: which dbt models read which columns (as the lineage store would say)."""

    def __init__(self, reads: dict[str, list[str]]) -> None:
        self.reads = reads
        self.asked: list[tuple[str, str, str]] = []

    def consumers(self, source_type: str, object_name: str, field_path: str) -> list[str]:
        self.asked.append((source_type, object_name, field_path))
        return sorted(self.reads.get(field_path, []))


OLD = {
    "schema": [
        {"name": "id", "type": "string", "required": True},
        {"name": "email", "type": "string", "required": True},
        {"name": "legacy_flag", "type": "boolean"},
        {"name": "address", "type": "object", "properties": [{"name": "city", "type": "string"}]},
    ]
}


def test_protocol_accepts_any_object_with_consumers() -> None:
    assert isinstance(DbtUsage({}), UsageSource)
    assert isinstance(StaticUsage(), UsageSource)
    assert not isinstance(object(), UsageSource)


def test_unused_removal_is_minor_and_used_removal_names_dependants() -> None:
    usage = DbtUsage({"email": ["model.shop.stg_orders", "model.shop.customers"]})
    new = contract({"schema": [OLD["schema"][0]]})
    diff = classify(contract(OLD), new, usage=usage)
    by_path = {c.path: c for c in diff.changes}
    assert by_path["email"].kind == "field_removed_in_use" and by_path["email"].severity is Severity.MAJOR
    assert by_path["email"].consumers == ("model.shop.customers", "model.shop.stg_orders")
    assert "model.shop.customers" in by_path["email"].message
    assert (
        by_path["legacy_flag"].kind == "field_removed_unused"
        and by_path["legacy_flag"].severity is Severity.MINOR
    )
    assert by_path["address"].severity is Severity.MINOR
    assert ("shop", "orders", "email") in usage.asked


def test_nested_readers_count_for_a_removed_parent() -> None:
    usage = DbtUsage({"address.city": ["model.shop.geo"]})
    new = contract({"schema": OLD["schema"][:3]})
    change = classify(contract(OLD), new, usage=usage).changes[0]
    assert (
        change.path == "address"
        and change.severity is Severity.MAJOR
        and change.consumers == ("model.shop.geo",)
    )


def test_without_usage_every_removal_is_major() -> None:
    new = contract({"schema": OLD["schema"][:2]})
    assert {c.severity for c in classify(contract(OLD), new).changes} == {Severity.MAJOR}


def test_manager_uses_the_usage_source(tmp_path: Path) -> None:
    usage = StaticUsage({("shop", "orders", "email"): ["model.shop.orders"]})
    manager = ContractManager(specs_dir=tmp_path / "specs", usage=usage)
    manager.save_contract(contract(OLD))
    saved = manager.save_contract(
        contract({"schema": OLD["schema"][:2] + OLD["schema"][3:]}, version="1.1.0")
    )
    assert saved.change_type == "non-breaking"
    with pytest.raises(BreakingChangeError, match=r"read by model\.shop\.orders"):
        manager.save_contract(contract({"schema": OLD["schema"][:1] + OLD["schema"][3:]}, version="1.2.0"))


def test_unused_required_field_removal_stays_major() -> None:
    """The spec: removing a required field is MAJOR; unused-ness only softens optional removals."""
    new = contract({"schema": [OLD["schema"][0], *OLD["schema"][2:]]})
    change = classify(contract(OLD), new, usage=DbtUsage({})).changes[0]
    assert (change.path, change.kind, change.severity) == ("email", "field_removed", Severity.MAJOR)
    assert change.message == "required field removed"
