"""Several processes save versions of one contract at once: nothing is lost, every file stays intact."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from dativo_ingest.changes import Severity
from dativo_ingest.config import AssetDefinition
from dativo_ingest.contracts import BreakingChangeError, ContractManager
from dativo_ingest.registry import Version
from tests.registry.conftest import contract

WORKERS = 6


def _add_my_field(specs: str, worker: int) -> None:
    """Read the latest version, add one field, save as the next MINOR; retry when another saved first."""
    manager = ContractManager(specs_dir=specs)
    for _ in range(500):
        latest = manager.get_contract("shop", "orders")
        schema = [*latest.to_dict()["schema"], {"name": f"w{worker}", "type": "string"}]
        version = str(Version.parse(latest.version).bump(Severity.MINOR))
        try:
            manager.save_contract(contract(schema=schema, version=version), author=f"worker-{worker}")
            return
        except BreakingChangeError:
            continue  # lost the race: the registry refused a stale base; try again on the new latest
    raise RuntimeError(f"worker {worker} never saved")


def test_concurrent_saves_lose_nothing(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    ContractManager(specs_dir=specs).save_contract(contract(), author="seed")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_add_my_field, args=(str(specs), i)) for i in range(WORKERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [p.exitcode for p in processes] == [0] * WORKERS

    manager = ContractManager(specs_dir=specs)
    history = manager.get_contract_history("shop", "orders")
    assert [h.version for h in history] == [f"1.{n}.0" for n in range(WORKERS, -1, -1)]
    assert sorted(h.author for h in history) == sorted(["seed", *(f"worker-{i}" for i in range(WORKERS))])
    latest = manager.get_contract("shop", "orders")
    assert {f.name for f in latest.fields} == {"id", *(f"w{i}" for i in range(WORKERS))}
    lines = (specs / "shop" / ".registry" / "orders" / "history.jsonl").read_text().splitlines()
    assert len(lines) == WORKERS + 1 and all(json.loads(line)["version"] for line in lines)
    for entry in history:
        assert AssetDefinition.from_yaml(entry.path).version.startswith("1.")
        assert manager.get_contract("shop", "orders", entry.version).version == entry.version
    assert not list(specs.rglob("*.tmp"))
