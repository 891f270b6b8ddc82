"""ContractManager: saving with the bump rules, history, lookup, comparison, names, crash safety."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dativo_ingest.config import AssetDefinition
from dativo_ingest.contracts import BreakingChangeError, ContractManager, ContractVersion
from dativo_ingest.errors import ContractNotFoundError, ContractValidationError, UsageError
from tests.conftest import STRIPE_CONTRACT
from tests.registry.conftest import contract

ID = {"name": "id", "type": "string", "required": True}
EMAIL = {"name": "email", "type": "string", "required": True}
PHONE = {"name": "phone", "type": "string", "required": False}


def test_spec_quick_start(specs: Path) -> None:
    """Quick Start step 2 of the spec, as written."""
    asset = AssetDefinition.from_yaml(STRIPE_CONTRACT)
    manager = ContractManager(specs_dir=str(specs))
    version = manager.save_contract(contract=asset, author="data-engineer@company.com", force=False)
    assert f"Contract saved: {version.version} ({version.change_type})" == "Contract saved: 1.0.0 (initial)"
    assert (specs / "stripe" / "v1.0" / "customers.yaml").is_file()
    assert AssetDefinition.from_yaml(specs / "stripe" / "v1.0" / "customers.yaml") == asset


def test_spec_semantic_versioning_example(specs: Path) -> None:
    """The spec's example: add an optional field -> 1.1.0; remove a required field -> 2.0.0."""
    manager = ContractManager(specs_dir=specs)
    v1 = manager.save_contract(contract(version="1.0.0", schema=[ID, EMAIL]), author="a@x.com")
    v11 = manager.save_contract(contract(version="1.1.0", schema=[ID, EMAIL, PHONE]), author="b@x.com")
    with pytest.raises(BreakingChangeError) as info:
        manager.save_contract(contract(version="1.2.0", schema=[ID, PHONE]), author="c@x.com")
    assert isinstance(info.value, ValueError)
    assert info.value.required_version == "2.0.0"
    assert "email: required field removed" in str(info.value)
    assert [c.kind for c in info.value.changes] == ["field_removed"]
    v2 = manager.save_contract(contract(version="2.0.0", schema=[ID, PHONE]), author="c@x.com")
    assert [(v.version, v.change_type) for v in (v1, v11, v2)] == [
        ("1.0.0", "initial"), ("1.1.0", "non-breaking"), ("2.0.0", "breaking"),
    ]  # fmt: skip
    history = manager.get_contract_history("shop", "orders")
    assert [(h.version, h.author, h.change_type) for h in history] == [
        ("2.0.0", "c@x.com", "breaking"),
        ("1.1.0", "b@x.com", "non-breaking"),
        ("1.0.0", "a@x.com", "initial"),
    ]
    assert all(h.timestamp and h.hash for h in history)
    assert [str(c) for c in history[0].changes] == ["email: required field removed"]


def test_minor_and_patch_bumps_are_enforced(specs: Path) -> None:
    manager = ContractManager(specs_dir=specs)
    manager.save_contract(contract(schema=[ID]))
    with pytest.raises(BreakingChangeError, match=r">= 1\.1\.0"):
        manager.save_contract(contract(version="1.0.1", schema=[ID, PHONE]))
    with pytest.raises(BreakingChangeError, match=r">= 1\.0\.1"):
        manager.save_contract(contract(version="1.0.0", schema=[ID], tags=["new-tag"]))
    saved = manager.save_contract(contract(version="1.0.1", schema=[ID], tags=["new-tag"]))
    assert saved.change_type == "metadata"
    assert manager.get_contract("shop", "orders").version == "1.0.1"


def test_identical_content_is_a_no_op(specs: Path) -> None:
    manager = ContractManager(specs_dir=specs)
    first = manager.save_contract(contract(), author="a@x.com")
    again = manager.save_contract(contract(), author="b@x.com")
    assert again.unchanged and again.author == "a@x.com" and again.hash == first.hash
    assert len(manager.get_contract_history("shop", "orders")) == 1


def test_lock_files_are_git_ignored(specs: Path) -> None:
    ContractManager(specs_dir=specs).save_contract(contract(), author="a@x.com")
    registry = specs / "shop" / ".registry"
    locks = list(specs.rglob("*.lock"))
    assert locks and all(lock.is_relative_to(registry) for lock in locks)
    assert (registry / ".gitignore").read_text() == "*.lock\n"


def test_force_saves_and_records_it(specs: Path) -> None:
    manager = ContractManager(specs_dir=specs)
    manager.save_contract(contract(schema=[ID, EMAIL]))
    forced = manager.save_contract(contract(version="1.0.1", schema=[ID]), author="ops@x.com", force=True)
    assert forced.forced and forced.required_version == "2.0.0" and forced.change_type == "breaking"
    latest = manager.get_contract_history("shop", "orders")[0]
    assert latest.forced and latest.author == "ops@x.com" and latest.required_version == "2.0.0"


def test_versions_are_kept_per_patch_and_ordered_numerically(specs: Path) -> None:
    manager = ContractManager(specs_dir=specs)
    schema = [ID]
    for minor in range(0, 11):
        schema = [*schema, {"name": f"f{minor}", "type": "string"}] if minor else schema
        manager.save_contract(contract(version=f"1.{minor}.0", schema=schema))
    manager.save_contract(contract(version="1.10.1", schema=schema, tags=["t"]))
    assert manager.get_contract("shop", "orders").version == "1.10.1"
    assert manager.get_contract("shop", "orders", "1.9.0").version == "1.9.0"
    assert manager.get_contract("shop", "orders", "1.10.0").version == "1.10.0"  # the v1.10 file holds 1.10.1
    assert manager.get_contract_path("shop", "orders", "1.10.1") == specs / "shop" / "v1.10" / "orders.yaml"
    assert manager.list_contracts() == [("shop", "orders", "1.10.1")]
    with pytest.raises(ContractNotFoundError):
        manager.get_contract("shop", "orders", "3.0.0")


def test_compare_contracts(specs: Path) -> None:
    manager = ContractManager(specs_dir=specs)
    manager.save_contract(contract(schema=[ID, EMAIL]))
    manager.save_contract(contract(version="1.1.0", schema=[ID, EMAIL, PHONE]))
    manager.save_contract(contract(version="2.0.0", schema=[{**ID, "type": "integer"}, EMAIL, PHONE]))
    result = manager.compare_contracts("1.0.0", "2.0.0", "shop", "orders")
    assert result["old_version"] == "1.0.0" and result["new_version"] == "2.0.0"
    assert (
        result["change_type"] == "breaking"
        and result["is_breaking"]
        and result["suggested_version"] == "2.0.0"
    )
    assert result["fields"] == {"added": ["phone"], "removed": [], "modified": ["id"]}
    assert [c["kind"] for c in result["breaking_changes"]] == ["type_changed"]
    assert [c["kind"] for c in result["non_breaking_changes"]] == ["field_added"]
    assert len(result["changes"]) == 2
    same = manager.compare_contracts("1.1.0", "1.1.0", "shop", "orders")
    assert same["change_type"] == "none" and same["suggested_version"] == "1.1.0"


def test_list_contracts_across_sources(specs: Path) -> None:
    manager = ContractManager(specs_dir=specs)
    manager.save_contract(contract(source_type="stripe", object="customers"))
    manager.save_contract(contract(source_type="shop", object="orders", version="1.2.0"))
    placed = specs / "hubspot" / "v1.9" / "deals.yaml"
    contract(source_type="hubspot", object="deals", version="1.9.2").to_yaml(placed)
    contract(source_type="hubspot", object="deals", version="1.10.0").to_yaml(
        specs / "hubspot" / "v1.10" / "deals.yaml"
    )
    assert manager.list_contracts() == [
        ("hubspot", "deals", "1.10.0"), ("shop", "orders", "1.2.0"), ("stripe", "customers", "1.0.0"),
    ]  # fmt: skip
    assert ContractManager(specs_dir=specs / "missing").list_contracts() == []


def test_placed_contracts_are_the_baseline_of_the_first_save(specs: Path) -> None:
    contract(schema=[ID, EMAIL]).to_yaml(specs / "shop" / "v1.0" / "orders.yaml")
    manager = ContractManager(specs_dir=specs)
    assert manager.get_contract("shop", "orders").fields[1].name == "email"
    with pytest.raises(BreakingChangeError):
        manager.save_contract(contract(version="1.1.0", schema=[ID]))


def test_validate_contract() -> None:
    manager = ContractManager(specs_dir="specs")
    assert manager.validate_contract(contract()) == (True, [])
    valid, errors = manager.validate_contract(contract(team=None, schema=[{"name": "x", "type": "blob"}]))
    assert not valid and any("owner" in e for e in errors) and any("blob" in e for e in errors)


def test_invalid_contract_is_refused(specs: Path) -> None:
    with pytest.raises(ContractValidationError, match="owner"):
        ContractManager(specs_dir=specs).save_contract(contract(team=None))
    with pytest.raises(ContractValidationError, match="source_type"):
        ContractManager(specs_dir=specs).save_contract(AssetDefinition(version="1.0.0", schema=[ID]))
    assert not specs.exists()


@pytest.mark.parametrize("name", ["../escape", "a/b", "/abs", "..", ".hidden", "a\\b", "x" * 200])
def test_names_are_validated(specs: Path, name: str) -> None:
    manager = ContractManager(specs_dir=specs)
    with pytest.raises(UsageError, match="invalid"):
        manager.save_contract(contract(source_type=name))
    with pytest.raises(UsageError, match="invalid"):
        manager.get_contract("shop", name)
    assert not specs.exists() or not any(specs.parent.rglob("*.yaml"))


def test_empty_object_name_is_refused(specs: Path) -> None:
    with pytest.raises(UsageError, match="invalid object"):
        ContractManager(specs_dir=specs).get_contract("shop", "")


def test_constructing_writes_nothing(tmp_path: Path) -> None:
    manager = ContractManager(specs_dir=tmp_path / "specs")
    manager.list_contracts()
    manager.get_contract_history("shop", "orders")
    assert not (tmp_path / "specs").exists()


def test_torn_history_line_is_skipped(specs: Path) -> None:
    """A crash mid-append leaves a partial line: the registry loads and the next save appends cleanly."""
    manager = ContractManager(specs_dir=specs)
    manager.save_contract(contract(schema=[ID]))
    history = specs / "shop" / ".registry" / "orders" / "history.jsonl"
    with history.open("a") as handle:
        handle.write('{"version": "1.1.0", "author": "crash')  # no newline: the writer died here
    assert [h.version for h in manager.get_contract_history("shop", "orders")] == ["1.0.0"]
    manager.save_contract(contract(version="1.1.0", schema=[ID, PHONE]))
    assert [h.version for h in manager.get_contract_history("shop", "orders")] == ["1.1.0", "1.0.0"]
    lines = history.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["version"] == "1.1.0"


def test_crash_before_history_append_keeps_previous_version(specs: Path) -> None:
    """Files written but no history entry (crash between the two): the previous version stays current."""
    manager = ContractManager(specs_dir=specs)
    manager.save_contract(contract(schema=[ID]))
    orphan = contract(version="1.1.0", schema=[ID, PHONE])
    orphan.to_yaml(specs / "shop" / ".registry" / "orders" / "versions" / "1.1.0.yaml")
    orphan.to_yaml(specs / "shop" / "v1.1" / "orders.yaml")
    assert manager.get_contract("shop", "orders").version == "1.0.0"
    assert manager.save_contract(orphan).version == "1.1.0"  # the retry succeeds
    assert manager.get_contract("shop", "orders").version == "1.1.0"


def test_contract_version_round_trip() -> None:
    version = ContractVersion("s", "o", "1.0.0", "initial", author="a", timestamp="t", hash="h")
    assert ContractVersion.from_dict(version.to_dict()).to_dict() == version.to_dict()


def test_force_never_rewrites_a_saved_version(specs: Path) -> None:
    manager = ContractManager(specs_dir=specs)
    manager.save_contract(contract(schema=[ID, EMAIL]))
    with pytest.raises(BreakingChangeError, match=r"1\.0\.0 is already saved .* save it as 2\.0\.0"):
        manager.save_contract(contract(schema=[ID]), force=True)
    assert [f.name for f in manager.get_contract("shop", "orders", "1.0.0").fields] == ["id", "email"]
    assert [h.version for h in manager.get_contract_history("shop", "orders")] == ["1.0.0"]


def test_saving_an_older_version_again_is_a_no_op(specs: Path) -> None:
    manager = ContractManager(specs_dir=specs)
    manager.save_contract(contract(schema=[ID]))
    manager.save_contract(contract(version="1.1.0", schema=[ID, PHONE]))
    again = manager.save_contract(contract(schema=[ID]), force=True)
    assert again.unchanged and again.version == "1.0.0"
    assert [h.version for h in manager.get_contract_history("shop", "orders")] == ["1.1.0", "1.0.0"]
