"""A dbt project shaped like real ones (``fixtures/jaffle_like``: seeds, a source, staging CTE chains, a
macro, an ephemeral model, a snapshot, marts with joins, aggregates and window functions), its manifest
made by real dbt and imported into lineage: every model gets column lineage, equal to the edges written
by hand in ``expected_lineage.yml``, whether the manifest is parse-only, compiled, or comes with
``catalog.json``. Seeds and snapshots are nodes of their own kinds; sqlglot's warnings stay off stderr.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from dativo_ingest.cli.app import main
from dativo_ingest.dbt.manifest import load_manifest, record_lineage
from dativo_ingest.lineage import LineageTracker
from dativo_ingest.lineage_graph.model import DBT_MODEL, DBT_SEED, DBT_SNAPSHOT, DBT_SOURCE
from tests.dbt.dbt_runner import run_dbt

FIXTURE = Path(__file__).parent / "fixtures" / "jaffle_like"
EXPECTED: dict[str, Any] = yaml.safe_load((FIXTURE / "expected_lineage.yml").read_text())
Edge = tuple[str, str, str, str]  # (upstream id, upstream column, model id, model column)


def expected_edges() -> set[Edge]:
    """The hand-written lineage as column edges: projections, and join/filter reads into every output."""
    edges: set[Edge] = set()
    for model, spec in EXPECTED["models"].items():
        outputs = spec["columns"]
        for out, sources in outputs.items():
            edges |= {(*_split(s), model, out) for s in sources}
        for read in spec.get("also_reads", []):
            edges |= {(*_split(read), model, out) for out in outputs}
    return edges


def _split(column: str) -> tuple[str, str]:
    node, _, name = column.rpartition(".")
    return node, name


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path | None]]:
    """situation -> (manifest, catalog): ``dbt parse`` alone; ``dbt build`` + ``docs generate``."""
    root = tmp_path_factory.mktemp("jaffle")
    parsed, built = root / "parsed", root / "built"
    for project in (parsed, built):
        shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("expected_lineage.yml"))
        (project / "profiles.yml").write_text(
            "jaffle_like:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
            f"      path: {(project / 'jaffle.duckdb').as_posix()}\n      threads: 1\n"
        )
    run = run_dbt(parsed, "parse")
    assert run.success, run.exception
    assert run.deprecations == []
    with duckdb.connect(str(built / "jaffle.duckdb")) as con:
        con.execute((built / "setup.sql").read_text())
    run = run_dbt(built, "build")
    assert run.success, (run.exception, run.failed())
    run = run_dbt(built, "docs", "generate")
    assert run.success, run.exception
    target = built / "target"
    return {
        "parse-only": (parsed / "target" / "manifest.json", None),
        "compiled": (target / "manifest.json", None),
        "catalog": (target / "manifest.json", target / "catalog.json"),
    }


def _recorded_edges(tracker: LineageTracker) -> set[Edge]:
    into = [n for n in tracker.nodes if n.startswith(("dbt://model.", "dbt://snapshot."))]
    return {
        (e.from_id.removeprefix("dbt://"), e.from_field, e.to_id.removeprefix("dbt://"), e.to_field)
        for e in tracker.repository.column_edges(into, incoming=True)
        if e.to_id in into
    }


@pytest.mark.dbt
@pytest.mark.parametrize("situation", ["parse-only", "compiled", "catalog"])
def test_every_model_gets_the_hand_written_column_lineage(
    manifests: dict[str, tuple[Path, Path | None]], situation: str, workspace: Path
) -> None:
    manifest, catalog = manifests[situation]
    raw = json.loads(manifest.read_text())
    assert all(
        ("compiled_code" in n) == (situation != "parse-only")
        for n in raw["nodes"].values()
        if n["resource_type"] == "model"
    )
    graph = load_manifest(manifest, catalog=catalog)
    assert graph.warnings == []
    models = {n.unique_id for n in graph.of_type("model", "snapshot")}
    assert models == set(EXPECTED["models"])
    assert graph.summary()["models_with_column_lineage"] == len(models)
    assert all(reads and None not in reads.values() for reads in graph.reads.values())
    tracker = LineageTracker()
    record_lineage(graph, tracker)
    found, expected = _recorded_edges(tracker), expected_edges()
    assert sorted(found - expected) == [] and sorted(expected - found) == []
    assert len(found) == len(expected) == 102
    record_lineage(graph, tracker)  # re-import is idempotent
    assert _recorded_edges(tracker) == expected


@pytest.mark.dbt
def test_catalog_gives_column_types(manifests: dict[str, tuple[Path, Path | None]]) -> None:
    manifest, catalog = manifests["catalog"]
    with_types = load_manifest(manifest, catalog=catalog)
    assert with_types.known_columns["source.jaffle_like.ecom.stores"] == {
        "id": "INTEGER",
        "name": "VARCHAR",
        "opened_at": "TIMESTAMP",
        "tax_rate": "DECIMAL(5,4)",
    }
    assert with_types.known_columns["snapshot.jaffle_like.customers_snapshot"]["dbt_valid_to"] == "TIMESTAMP"
    parsed = load_manifest(manifests["parse-only"][0])
    # without a catalog: the seed's CSV header and the models' own lineage, untyped; the source's
    # columns are unknown (only its key is documented) and are read through by name
    assert parsed.known_columns["seed.jaffle_like.raw_orders"] == dict.fromkeys(
        ["id", "customer_id", "ordered_at", "status", "store_id"]
    )
    assert list(parsed.known_columns["model.jaffle_like.orders"]) == list(
        EXPECTED["models"]["model.jaffle_like.orders"]["columns"]
    )
    assert "source.jaffle_like.ecom.stores" not in parsed.known_columns


@pytest.mark.dbt
def test_seeds_and_snapshots_are_nodes_of_their_own_kinds(
    manifests: dict[str, tuple[Path, Path | None]], workspace: Path
) -> None:
    tracker = LineageTracker()
    counts = record_lineage(load_manifest(manifests["compiled"][0]), tracker)
    assert counts["models"] == 12  # 8 models, 3 seeds, 1 snapshot
    kinds = {node_id: node.kind for node_id, node in tracker.nodes.items()}
    assert {i for i, k in kinds.items() if k == DBT_SEED} == {f"dbt://{s}" for s in EXPECTED["seeds"]}
    assert {i for i, k in kinds.items() if k == DBT_SNAPSHOT} == {f"dbt://{s}" for s in EXPECTED["snapshots"]}
    assert {i for i, k in kinds.items() if k == DBT_SOURCE} == {f"dbt://{s}" for s in EXPECTED["sources"]}
    assert {i for i, k in kinds.items() if k == DBT_MODEL} == {
        f"dbt://{m}" for m in EXPECTED["models"] if m.startswith("model.")
    }
    assert not any(i.startswith(("dbt://model.seed.", "dbt://model.snapshot.")) for i in kinds)
    seed = tracker.nodes["dbt://seed.jaffle_like.raw_orders"]
    assert seed.name == "raw_orders" and seed.attributes["resource_type"] == "seed"
    downstream = {e["node"]["id"] for e in tracker.get_downstream_lineage(seed.id)}
    assert {"dbt://snapshot.jaffle_like.customers_snapshot", "dbt://model.jaffle_like.customers"} <= (
        {e["node"]["id"] for e in tracker.get_downstream_lineage("dbt://seed.jaffle_like.raw_customers")}
    )
    assert "dbt://model.jaffle_like.store_daily_revenue" in downstream


def _unreadable_manifest(tmp_path: Path) -> Path:
    """A manifest whose model SQL sqlglot warns about (falls back to a Command)."""
    model = {
        "resource_type": "model",
        "name": "odd",
        "relation_name": '"db"."main"."odd"',
        "depends_on": {"nodes": []},
        "compiled_code": "CALL pragma_refresh_stats()",
        "columns": {},
        "config": {"materialized": "view"},
    }
    data = {
        "metadata": {"project_name": "p", "adapter_type": "duckdb"},
        "nodes": {"model.p.odd": model},
        "sources": {},
        "exposures": {},
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    return path


def test_sqlglot_warnings_go_to_the_debug_log_not_the_terminal(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _unreadable_manifest(tmp_path)
    assert main(["dbt", "import-manifest", str(manifest)]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert "imported" in out.out and "column lineage unavailable" in out.out  # the import's own warning
    assert main(["--log-level", "DEBUG", "dbt", "import-manifest", str(manifest)]) == 0
    err = capsys.readouterr().err
    assert "sqlglot: 'CALL pragma_refresh_stats()' contains unsupported syntax" in err
    assert "level=DEBUG" in err or "DEBUG" in err


@pytest.mark.dbt
def test_cli_imports_a_real_project_with_its_catalog_and_a_clean_stderr(
    manifests: dict[str, tuple[Path, Path | None]], workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for situation in ("parse-only", "catalog"):
        manifest, catalog = manifests[situation]
        args = ["dbt", "import-manifest", str(manifest), "--json"]
        assert main([*args, *(["--catalog", str(catalog)] if catalog else [])]) == 0
        out = capsys.readouterr()
        assert out.err == ""
        summary = json.loads(out.out)
        assert summary["models_with_column_lineage"] == len(EXPECTED["models"]) and summary["warnings"] == []
    missing = manifest.parent / "missing-catalog.json"
    assert main(["dbt", "import-manifest", str(manifest), "--catalog", str(missing)]) == 1
    assert "catalog not found" in capsys.readouterr().err


def test_without_jinja_the_regex_pass_keeps_macro_calls_on_columns() -> None:
    from dativo_ingest.dbt.manifest_render import strip_jinja

    sql = (
        "{{ config(materialized='view') }}\nselect id, {{ cents_to_dollars('amount_cents', 4) }} as amount\n"
        "from {{ ref('raw_payments') }} {% if is_incremental() %}where 1 = 1{% endif %}"
    )
    text = strip_jinja(sql, ref=lambda name, _package: f"t_{name}", source=lambda s, t: f"{s}_{t}")
    assert (
        " ".join(text.split())
        == "null select id, cents_to_dollars(amount_cents, 4) as amount from t_raw_payments where 1 = 1"
    )
