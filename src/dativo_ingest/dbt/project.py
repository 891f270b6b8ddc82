"""A whole runnable dbt project from many contracts: project file, DuckDB profile, sources, staging
models, data tests and exposures.

Layout under the output folder::

    dbt_project.yml, profiles.yml
    models/staging/<source>/_<source>__sources.yml   (one dbt source per source type, a table per schema
                                                      object of its contracts)
    models/staging/<source>/_<source>__models.yml    (the staging models of those tables)
    models/staging/<source>/stg_<source>__<object>.sql
    models/exposures.yml                             (from the exposures config, when given)
    tests/generic/dativo_contract_tests.sql          (range, length, regex, row count, SQL rule tests)

Raw tables are read by DuckDB from the local Iceberg warehouse (dbt-duckdb's ``iceberg`` plugin over
pyiceberg's SQL catalog at ``<warehouse>/catalog.db``) or from Parquet files. Files are only rewritten
when their text changes; generated files that no contract produces any more are removed (only files
carrying the dativo header are ever touched).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dativo_ingest.dbt.datatests import DEFINITIONS_PATH, data_test_definitions, uses_definitions
from dativo_ingest.dbt.documents import (
    exposure_document,
    masking_warnings,
    merge_documents,
    model_document,
    source_document,
)
from dativo_ingest.dbt.emit import GENERATED_BY, dump_yaml, header
from dativo_ingest.dbt.legacy import to_legacy
from dativo_ingest.dbt.metadata import contract_id
from dativo_ingest.dbt.node_names import (
    default_model_name,
    default_source_name,
    object_of,
    slug,
    source_type_of,
)
from dativo_ingest.dbt.objects import object_views
from dativo_ingest.dbt.options import GenerationOptions
from dativo_ingest.dbt.rules import contract_rules
from dativo_ingest.dbt.staging import staging_sql
from dativo_ingest.errors import DbtError
from dativo_ingest.fileio import write_if_changed
from dativo_ingest.odcs.model import AssetDefinition

INPUTS = ("iceberg", "parquet", "duckdb")
WRITE_THREADS = 8


@dataclass(frozen=True)
class ProjectConfig:
    """Project-wide choices.

    ``input``: where raw tables come from: ``iceberg`` (table ``iceberg_table`` template, default
    ``bronze.{source}_{object}``), ``parquet`` (``parquet_path`` template, default
    ``{warehouse}/{source}/{object}/*.parquet``) or ``duckdb`` (tables already in the DuckDB file,
    schema ``raw_<source>``). ``catalog``: the Iceberg catalog to read instead of the local warehouse's
    (see :func:`dativo_ingest.dbt.catalog.profile_catalog`). ``exposures``: entries of an exposures
    config (name, type, owner, depends_on as ``source.object`` contract references or ``ref()`` calls,
    url, maturity, ...).
    """

    project_name: str = "dativo"
    profile_name: str | None = None
    input: str = "iceberg"
    warehouse: Path | None = None
    iceberg_table: str = "bronze.{source}_{object}"
    parquet_path: str = "{warehouse}/{source}/{object}/*.parquet"
    duckdb_path: Path | None = None
    threads: int = 1
    catalog: tuple[tuple[str, str], ...] = ()  # iceberg input: pyiceberg catalog properties (dbt.catalog)
    exposures: tuple[dict[str, Any], ...] = ()
    exposures_origin: str = "exposures config"


@dataclass
class ProjectResult:
    """What a project generation did."""

    contracts: int = 0
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    out_dir: Path | None = None  # the project folder

    def as_dict(self) -> dict[str, Any]:
        return {
            "contracts": self.contracts,
            "written": len(self.written),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "warnings": list(self.warnings),
        }

    def summary(self) -> dict[str, Any]:
        """:meth:`as_dict` with the project folder first (``out``): what the CLI, the demo and runs report."""
        return {"out": str(self.out_dir), **self.as_dict()}


def project_yml(project_name: str, profile_name: str | None = None, *, materialized: str = "table") -> dict:
    """``dbt_project.yml`` content."""
    name = slug(project_name)
    return {
        "name": name,
        "version": "1.0.0",
        "config-version": 2,
        "profile": profile_name or name,
        "model-paths": ["models"],
        "test-paths": ["tests"],
        "macro-paths": ["macros"],
        "target-path": "target",
        "clean-targets": ["target", "dbt_packages"],
        "flags": {"send_anonymous_usage_stats": False},
        "models": {name: {"staging": {"+materialized": materialized}}},
    }


def profiles_yml(config: ProjectConfig, out_dir: Path) -> dict[str, Any]:
    """A DuckDB profile; with ``input="iceberg"`` it loads dbt-duckdb's iceberg plugin."""
    warehouse = _warehouse(config, out_dir)
    db_path = (config.duckdb_path or out_dir / "dativo.duckdb").resolve()
    output: dict[str, Any] = {
        "type": "duckdb",
        "path": f"{{{{ env_var('DATIVO_DBT_DUCKDB_PATH', '{db_path.as_posix()}') }}}}",
        "threads": config.threads,
    }
    if config.input == "iceberg":
        output["plugins"] = [
            {
                "module": "iceberg",
                "config": dict(config.catalog)
                or {
                    "catalog": "dativo",
                    "type": "sql",
                    "uri": f"sqlite:///{(warehouse / 'catalog.db').as_posix()}",
                    "warehouse": f"file://{warehouse.as_posix()}",
                },
            }
        ]
    return {config.profile_name or slug(config.project_name): {"target": "dev", "outputs": {"dev": output}}}


def _warehouse(config: ProjectConfig, out_dir: Path) -> Path:
    return Path(config.warehouse or out_dir.parent / "warehouse").resolve()


def _table_meta(asset: AssetDefinition, config: ProjectConfig, out_dir: Path) -> dict[str, Any]:
    values = {
        "source": source_type_of(asset),
        "object": object_of(asset),
        "warehouse": _warehouse(config, out_dir).as_posix(),
    }
    if config.input == "iceberg":
        return {"plugin": "iceberg", "iceberg_table": config.iceberg_table.format(**values)}
    if config.input == "parquet":
        location = config.parquet_path.format(**values).replace("'", "''")
        return {"external_location": f"read_parquet('{location}')"}
    return {}


def contract_documents(
    asset: AssetDefinition, options: GenerationOptions, *, table_meta: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any], str, list[str]]:
    """One single-object contract's (or object view's) source and model documents, SQL and warnings."""
    source_name, model = default_source_name(asset), default_model_name(asset)
    rules = contract_rules(asset)
    warnings = [f"{contract_id(asset)}: {s}" for s in rules.skipped]
    source_doc = source_document(asset, options, source_name=source_name, table_meta=table_meta, rules=rules)
    model_doc = model_document(asset, options, model_name=model, rules=rules)
    warnings += [f"{contract_id(asset)}: {w}" for w in masking_warnings(asset, options, rules)]
    origin = f"contract {contract_id(asset)} v{asset.version}"
    staged = staging_sql(asset, options, source_name=source_name, head=header("staging model", origin, "--"))
    warnings += [f"{contract_id(asset)}: {w}" for w in staged.warnings]
    return source_doc, model_doc, staged.sql, warnings


def source_files(src: str) -> dict[str, str]:
    """The per-source YAML files (relative paths) both writers use: ``{"sources": ..., "models": ...}``."""
    folder = f"models/staging/{src}"
    return {"sources": f"{folder}/_{src}__sources.yml", "models": f"{folder}/_{src}__models.yml"}


def merged_file(path: Path, doc: dict[str, Any], key: str, src: str) -> str:
    """The text of per-source file ``path`` with ``doc``'s nodes added or replacing those of the same name.

    Only a file dativo generated is merged into; a hand-written file at that path is an error.
    """
    docs = []
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if GENERATED_BY not in text.split("\n", 1)[0]:
            raise DbtError("exists and was not generated by dativo; refusing to overwrite it", path=path)
        try:
            existing = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise DbtError(f"cannot read generated YAML: {exc}".splitlines()[0], path=path) from exc
        docs.append({"version": 2, key: list(existing.get(key) or [])})
    docs.append(doc)
    kind = "dbt sources" if key == "sources" else "dbt models"
    return dump_yaml(merge_documents(docs, key), head=header(kind, f"the contracts of source {src}"))


def exposures_file(
    config: ProjectConfig, assets_by_key: dict[str, Any], options: GenerationOptions
) -> str | None:
    """``models/exposures.yml`` from the exposures config (None when there are none)."""
    if not config.exposures:
        return None
    exposures = []
    for i, entry in enumerate(config.exposures):
        where = f"{config.exposures_origin}: exposures[{i}]"
        if not isinstance(entry, dict) or not entry.get("name"):
            raise DbtError(f"{where} needs a name")
        targets = entry.get("depends_on") or []
        contracts = [t for t in targets if "(" not in t]
        unknown = [t for t in contracts if t not in assets_by_key]
        if unknown:
            raise DbtError(
                f"{where} depends on unknown contract(s) {', '.join(unknown)} "
                f"(use <source>.<object> of a registered contract, or ref()/source())"
            )
        if not targets:
            raise DbtError(f"{where} needs depends_on")
        anchor = assets_by_key[contracts[0]] if contracts else next(iter(assets_by_key.values()))
        nodes = [t if "(" in t else f"ref('{default_model_name(assets_by_key[t])}')" for t in targets]
        owner = entry.get("owner") or {}
        try:
            doc = exposure_document(
                anchor,
                exposure_name=entry["name"],
                exposure_type=entry.get("type", "dashboard"),
                depends_on=nodes,
                label=entry.get("label"),
                url=entry.get("url"),
                maturity=entry.get("maturity"),
                description=entry.get("description"),
                owner_name=owner.get("name"),
                owner_email=owner.get("email"),
            )
        except DbtError as exc:
            raise DbtError(f"{where}: {exc.message}") from exc
        exposures.extend(doc["exposures"])
    doc = {"version": 2, "exposures": exposures}
    if options.style == "legacy":
        doc = to_legacy(doc)
    return dump_yaml(doc, head=header("dbt exposures", config.exposures_origin))


def generate_project(
    assets: list[AssetDefinition], out_dir: Path, config: ProjectConfig, options: GenerationOptions
) -> ProjectResult:
    """Write the project for ``assets`` into ``out_dir``; see the module docstring for the layout."""
    if config.input not in INPUTS:
        raise DbtError(f"input must be one of {', '.join(INPUTS)}, got '{config.input}'", field="input")
    out_dir = Path(out_dir)
    result = ProjectResult(contracts=len(assets), out_dir=out_dir)
    files: dict[str, str] = {}
    by_key: dict[str, Any] = {}
    per_source: dict[str, tuple[list[dict], list[dict]]] = {}
    styled = to_legacy if options.style == "legacy" else (lambda d: d)
    views = [view for asset in assets for view in object_views(asset)]
    for view in sorted(views, key=lambda v: (source_type_of(v), object_of(v))):
        key = f"{source_type_of(view)}.{object_of(view)}"
        if key in by_key:
            first = contract_id(by_key[key])
            raise DbtError(f"two schema objects map to dbt table {key}: in {first} and {contract_id(view)}")
        by_key[key] = view
        meta = _table_meta(view, config, out_dir)
        source_doc, model_doc, sql, warnings = contract_documents(view, options, table_meta=meta)
        src = source_type_of(view)
        files[f"models/staging/{src}/{default_model_name(view)}.sql"] = sql
        per_source.setdefault(src, ([], []))[0].append(source_doc)
        per_source[src][1].append(model_doc)
        result.warnings.extend(warnings)
    needs_definitions = False
    for src, (sources, models) in per_source.items():
        origin = f"the contracts of source {src}"
        merged_models = merge_documents(models, "models")
        needs_definitions = needs_definitions or uses_definitions(merged_models) or uses_definitions(sources)
        paths = source_files(src)
        files[paths["sources"]] = dump_yaml(
            styled(merge_documents(sources, "sources")), head=header("dbt sources", origin)
        )
        files[paths["models"]] = dump_yaml(styled(merged_models), head=header("dbt models", origin))
    if needs_definitions:
        definitions = data_test_definitions(options.adapter)
        files[DEFINITIONS_PATH] = header("generic data tests", "dativo", "--") + definitions
    origin = "dativo dbt generate"
    files["dbt_project.yml"] = dump_yaml(
        project_yml(config.project_name, config.profile_name, materialized=options.materialized),
        head=header("dbt project", origin),
    )
    if options.adapter == "duckdb":
        files["profiles.yml"] = dump_yaml(profiles_yml(config, out_dir), head=header("dbt profile", origin))
    exposures = exposures_file(config, by_key, options)
    if exposures is not None:
        files["models/exposures.yml"] = exposures
    targets = [out_dir / relative for relative in files]
    # Writes are fsync-bound, not CPU-bound: a few threads overlap the waits.
    with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
        changed = list(pool.map(write_if_changed, targets, files.values()))
    for path, was_written in zip(targets, changed, strict=True):
        (result.written if was_written else result.unchanged).append(path)
    result.removed = _remove_stale(out_dir, set(files))
    return result


def _remove_stale(out_dir: Path, keep: set[str]) -> list[Path]:
    """Delete generated files (dativo header) under models/ and tests/ that this run did not produce."""
    removed = []
    for folder in ("models", "tests"):
        root = out_dir / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix not in (".yml", ".sql") or path.relative_to(out_dir).as_posix() in keep:
                continue
            with path.open(encoding="utf-8", errors="replace") as handle:
                first = handle.readline()
            if GENERATED_BY in first:
                path.unlink()
                removed.append(path)
    return removed
