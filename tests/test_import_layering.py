"""Imports point down the layers: interfaces -> services -> stores -> core -> foundation.

Every module under ``src/dativo_ingest`` is parsed with :mod:`ast` (nothing is imported). The layer of a
module is the entry of :data:`LAYERS` with the longest matching prefix; a module may import its own layer
and the layers below it (:data:`MAY_IMPORT`). On top of that, packages never import the public faces of
the spec (:data:`FACES`: they re-export packages, so a package importing one closes a cycle), only the
CLI imports the CLI, and modules import ``dativo_ingest`` modules at the top, never inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "dativo_ingest"

FOUNDATION, CORE, STORE, SERVICE, INTERFACE = "foundation", "core", "store", "service", "interface"

#: Module-name prefix -> layer; the longest matching prefix wins (``a.b`` matches ``a.b`` and ``a.b.*``).
LAYERS: dict[str, str] = {
    # foundation: errors, logging, files, YAML, the workspace folder
    "dativo_ingest": FOUNDATION,  # the package root (its version)
    "dativo_ingest.errors": FOUNDATION,
    "dativo_ingest.config_errors": FOUNDATION,
    "dativo_ingest.logging": FOUNDATION,
    "dativo_ingest.fileio": FOUNDATION,
    "dativo_ingest.yamlio": FOUNDATION,
    "dativo_ingest.workspace": FOUNDATION,
    "dativo_ingest.envsubst": FOUNDATION,  # ${ENV_VAR} in config files (jobs, dativo.yaml)
    # core: pure logic over plain models
    "dativo_ingest.odcs": CORE,
    "dativo_ingest.changes": CORE,
    "dativo_ingest.policy": CORE,
    "dativo_ingest.dbt.node_names": CORE,  # dbt names of contracts, shared by policy's SQL rewrite
    "dativo_ingest.dbt.quoting": CORE,  # SQL quoting per adapter, shared by policy's SQL rewrite
    "dativo_ingest.lineage_graph.model": CORE,  # the graph model the lineage store persists
    "dativo_ingest.finops.anomalies": CORE,  # FinOps maths
    "dativo_ingest.finops.calculator": CORE,
    "dativo_ingest.finops.focus": CORE,
    "dativo_ingest.finops.measure": CORE,
    "dativo_ingest.finops.periods": CORE,
    "dativo_ingest.finops.pricing": CORE,
    "dativo_ingest.finops.records": CORE,
    "dativo_ingest.finops.robust": CORE,
    "dativo_ingest.finops.usage": CORE,
    "dativo_ingest.sla.rules": CORE,  # SLA rules and their evaluation over run history
    # stores: the metadata store, every table and query
    "dativo_ingest.store": STORE,
    # services: compose core and stores
    "dativo_ingest.policy.guard": SERVICE,  # decisions recorded in the audit store
    "dativo_ingest.finops": SERVICE,  # the face; ``tracker`` and ``queries`` fall here too
    "dativo_ingest.contracts": SERVICE,
    "dativo_ingest.config": SERVICE,
    "dativo_ingest.dbt_integration": SERVICE,
    "dativo_ingest.lineage": SERVICE,
    "dativo_ingest.ai_context_api": SERVICE,
    "dativo_ingest.ingest": SERVICE,
    "dativo_ingest.dbt": SERVICE,
    "dativo_ingest.context": SERVICE,
    "dativo_ingest.lineage_graph": SERVICE,
    "dativo_ingest.registry": SERVICE,
    "dativo_ingest.importers": SERVICE,
    "dativo_ingest.demo": SERVICE,
    "dativo_ingest.notifications": SERVICE,
    "dativo_ingest.sla": SERVICE,
    "dativo_ingest.attest": SERVICE,  # contract test: checks on data at rest
    "dativo_ingest.attest.results": CORE,  # check ids, thresholds, JSON/JUnit (pure)
    # interfaces
    "dativo_ingest.cli": INTERFACE,
    "dativo_ingest.__main__": INTERFACE,
    "dativo_ingest.server": INTERFACE,
}

#: Layer -> the layers its modules may import.
MAY_IMPORT: dict[str, set[str]] = {
    FOUNDATION: {FOUNDATION},
    CORE: {CORE, FOUNDATION},
    STORE: {STORE, CORE, FOUNDATION},
    SERVICE: {SERVICE, STORE, CORE, FOUNDATION},
    INTERFACE: {INTERFACE, SERVICE, STORE, CORE, FOUNDATION},
}

#: The spec's public modules: they only re-export or delegate; packages import the package instead.
FACES = frozenset(
    {
        "dativo_ingest.contracts",
        "dativo_ingest.config",
        "dativo_ingest.dbt_integration",
        "dativo_ingest.lineage",
        "dativo_ingest.ai_context_api",
        "dativo_ingest.finops",  # the package itself; its submodules are machinery
    }
)

#: Only these may import ``dativo_ingest.cli``.
CLI = ("dativo_ingest.cli", "dativo_ingest.__main__")

#: The one deferred import of a dativo module, and why: every other import sits at its module's top
#: (imports of optional third-party extras are not counted).
DEFERRED_IMPORTS = {
    "dativo_ingest.cli.contract_registry": "the lineage store, read only with --lineage; at the top it adds "
    "about 0.35 s to every contract command",
    "dativo_ingest.attest.tester": "the streamed engine and job configs (pyarrow, pyiceberg, the ingestion "
    "stack: ~100 MB and seconds of imports), loaded only for Iceberg/files or --job, and the lineage "
    "tracker only when the run is recorded; a test pushed down to SQL stays lean "
    "(benchmarks/bench_contract_test.py measures its peak memory)",
    "dativo_ingest.ingest": "the package's re-exports (load_job, run_job) load on first use, so importing "
    "one small module of it (envsubst) does not load the whole run",
}


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    line: int
    in_function: bool


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _imports(module: str) -> Iterator[Import]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))

    def visit(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(module, alias.name, child.lineno, in_function)
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(module, child)
                for alias in child.names:
                    # ``from pkg import submodule`` imports the submodule, not the package's names
                    sub = f"{base}.{alias.name}"
                    yield Import(module, sub if sub in MODULES else base, child.lineno, in_function)
            yield from visit(child, inside)

    yield from (i for i in visit(tree, False) if i.target == PACKAGE or i.target.startswith(PACKAGE + "."))


IMPORTS: list[Import] = [i for module in MODULES for i in _imports(module)]


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:n]))
        if layer is not None:
            return layer
    return None


def _show(violations: list[str]) -> str:
    return "\n".join(violations)


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer_of(m) is None] == []


def test_the_layer_map_names_only_existing_modules_or_renamed_ones():
    known = set(MODULES) | {m.rpartition(".")[0] for m in MODULES}
    stale = [p for p in LAYERS if p not in known]
    assert stale == []


def test_packages_never_import_a_face():
    violations = [
        f"{i.importer}:{i.line} imports the face {i.target}"
        for i in IMPORTS
        if i.target in FACES and i.importer not in FACES and layer_of(i.importer) != INTERFACE
    ]
    assert violations == [], _show(violations)


def test_faces_stay_thin():
    for face in FACES:
        assert len(MODULES[face].read_text(encoding="utf-8").splitlines()) <= 150, face


def test_imports_point_down_the_layers():
    violations = []
    for i in IMPORTS:
        mine, theirs = layer_of(i.importer), layer_of(i.target)
        if theirs is not None and theirs not in MAY_IMPORT[mine]:
            violations.append(f"{i.importer}:{i.line} ({mine}) imports {i.target} ({theirs})")
    assert violations == [], _show(violations)


def test_only_the_cli_imports_the_cli():
    violations = [
        f"{i.importer}:{i.line} imports {i.target}"
        for i in IMPORTS
        if i.target.startswith("dativo_ingest.cli") and not i.importer.startswith(CLI)
    ]
    assert violations == [], _show(violations)


def test_dativo_modules_are_imported_at_module_top():
    violations = [
        f"{i.importer}:{i.line} imports {i.target} inside a function"
        for i in IMPORTS
        if i.in_function and i.importer not in DEFERRED_IMPORTS
    ]
    assert violations == [], _show(violations)
    still_deferred = {i.importer for i in IMPORTS if i.in_function}
    assert set(DEFERRED_IMPORTS) <= still_deferred  # an exception no longer needed is removed


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("dativo_ingest.finops", SERVICE),
        ("dativo_ingest.finops.tracker", SERVICE),
        ("dativo_ingest.finops.pricing", CORE),
        ("dativo_ingest.policy.guard", SERVICE),
        ("dativo_ingest.policy.sql.rewrite", CORE),
        ("dativo_ingest.store.lineage.repository", STORE),
        ("dativo_ingest.cli.app", INTERFACE),
        ("dativo_ingest.changes.engine", CORE),
    ],
)
def test_the_longest_prefix_decides_the_layer(module, layer):
    assert layer_of(module) == layer
