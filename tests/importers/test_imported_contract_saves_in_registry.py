"""An imported contract (with an owner) is a valid governed contract: ``dativo contract save`` stores it
and the registry loads back the same contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.contracts import ContractManager
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.quality import contract_checks
from dativo_ingest.odcs.validation import validate_asset
from tests.importers.helpers import run

DDL = """
CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(80) NOT NULL UNIQUE);
CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT REFERENCES customers (id),
                     status TEXT NOT NULL CHECK (status IN ('new', 'paid')), qty INT CHECK (qty >= 1));
"""


@pytest.mark.parametrize("fmt", ["dativo", "odcs-3.1.0"])
def test_an_imported_contract_saves_and_loads_back(
    workspace: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    (workspace / "shop.sql").write_text(DDL)
    out = workspace / "imported"
    code, _, err = run(
        capsys,
        "--from",
        "ddl",
        "shop.sql",
        "--dialect",
        "postgres",
        "--owner",
        "data@example.com",
        "--format",
        fmt,
        "--out",
        str(out),
    )
    assert code == 0, err
    path = next(out.glob("orders*.yaml"))
    imported = AssetDefinition.from_yaml(path)
    assert validate_asset(imported).errors == []
    assert main(["contract", "save", str(path), "--author", "importer"]) == 0
    stored = ContractManager(specs_dir=workspace / "specs").get_contract("postgres", "orders")
    assert stored.version == "1.0.0"
    assert stored.fields == imported.fields
    assert contract_checks(stored).checks == contract_checks(imported).checks
    assert any(c.kind == "relationships" for c in contract_checks(stored))


def test_an_import_without_an_owner_says_the_contracts_need_one_before_saving(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "shop.sql").write_text(DDL)
    code, _, err = run(capsys, "--from", "ddl", "shop.sql", "--dialect", "postgres", "--out", "imported")
    assert code == 0
    assert "no --owner: `dativo contract save` needs team.owner" in err
    code, _, err = run(capsys, "--from", "ddl", "shop.sql", "--owner", "a@b.co", "--out", "again")
    assert code == 0 and "no --owner" not in err
