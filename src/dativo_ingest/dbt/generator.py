"""DBTGenerator, the service behind :mod:`dativo_ingest.dbt_integration` (its public face): dbt YAML,
staging SQL and projects from contracts, written only when their content changes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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
from dativo_ingest.dbt.node_names import default_model_name, default_source_name, object_of, source_type_of
from dativo_ingest.dbt.objects import object_views, single_view
from dativo_ingest.dbt.options import DEFAULT_RESTRICTED, GenerationOptions
from dativo_ingest.dbt.project import (
    ProjectConfig,
    ProjectResult,
    generate_project,
    merged_file,
    project_yml,
    source_files,
)
from dativo_ingest.dbt.rules import RuleSet, contract_rules
from dativo_ingest.dbt.singular import schema_test_sql
from dativo_ingest.dbt.staging import staging_sql
from dativo_ingest.errors import DbtError
from dativo_ingest.fileio import write_if_changed
from dativo_ingest.odcs.model import AssetDefinition

YAML_TYPES = ("source", "model", "exposure")

__all__ = ["YAML_TYPES", "DBTGenerator"]


class DBTGenerator:
    """Generate dbt YAML, staging SQL and projects from contracts under ``output_dir`` (a dbt project root).

    ``adapter`` picks SQL types and functions (duckdb, postgres, snowflake, bigquery, databricks, spark,
    trino). Columns whose classification is in ``restricted_classifications`` are masked in staging SQL
    with ``masking`` (hash, redact or null). Nothing is written until a ``save_*`` method is called.
    """

    def __init__(
        self,
        output_dir: str | Path = "dbt",
        *,
        adapter: str = "duckdb",
        restricted_classifications: Iterable[str] = DEFAULT_RESTRICTED,
        masking: str = "hash",
        materialized: str = "table",
        style: str = "current",
        strict: bool = False,
    ) -> None:
        self.output_dir = Path(output_dir)
        self.options = GenerationOptions(
            adapter=adapter,
            restricted_classifications=tuple(restricted_classifications),
            masking=masking,
            materialized=materialized,
            style=style,
            strict=strict,
        )
        #: Warnings met while generating (missing event-time column, skipped expectations, ...), in order.
        self.warnings: list[str] = []
        self._seen: set[str] = set()
        self._model_names: dict[str, str] = {}
        self._source_names: dict[str, str] = {}

    # ----- documents ----------------------------------------------------------------------------
    def generate_source_yaml(
        self,
        asset: AssetDefinition,
        catalog_name: str | None = None,
        *,
        table_meta: dict[str, Any] | None = None,
        schema: str | None = None,
    ) -> dict[str, Any]:
        """The ``sources:`` document for ``asset`` with one table per schema object.

        The source is ``catalog_name``, else the name last used for this contract, else the source type
        (``stripe``, as the reference implementation named it); the name chosen is remembered, so staging
        SQL and tests this generator writes afterwards read the same source. :meth:`save_dbt_yaml` keeps
        ``raw_<source>`` as its default (the per-source files ``dativo dbt generate`` writes)."""
        return self._source_yaml(asset, catalog_name, source_type_of, table_meta=table_meta, schema=schema)

    def _source_yaml(
        self,
        asset: AssetDefinition,
        catalog_name: str | None,
        default: Callable[[AssetDefinition], str],
        *,
        table_meta: dict[str, Any] | None = None,
        schema: str | None = None,
    ) -> dict[str, Any]:
        docs = [
            source_document(
                view,
                self.options,
                source_name=self._source_name(view, catalog_name, default),
                table_meta=table_meta,
                schema=schema,
                rules=self._rules(view),
            )
            for view in object_views(asset)
        ]
        return self._styled(merge_documents(docs, "sources"))

    def generate_model_yaml(self, asset: AssetDefinition, model_name: str | None = None) -> dict[str, Any]:
        """The ``models:`` document of the staging model (default name ``stg_<source>__<object>``); a
        contract with several schema objects gets one model per object (``model_name`` is then refused).
        """
        views = self._views(asset, model_name)
        docs = [self._model_document(view, model_name) for view in views]
        return self._styled(merge_documents(docs, "models"))

    def generate_exposure_yaml(
        self,
        asset: AssetDefinition,
        exposure_name: str | None = None,
        exposure_type: str = "dashboard",
        depends_on: list[str] | None = None,
        *,
        model_name: str | None = None,
        **details: Any,
    ) -> dict[str, Any]:
        """An ``exposures:`` document; ``depends_on`` holds model names or ``ref()``/``source()`` calls.

        ``details``: ``label``, ``url``, ``maturity``, ``description``, ``owner_name``, ``owner_email``.
        """
        if depends_on is None:
            depends_on = [self._model_name(view, model_name) for view in self._views(asset, model_name)]
        doc = exposure_document(
            asset, exposure_name=exposure_name, exposure_type=exposure_type, depends_on=depends_on, **details
        )
        return self._styled(doc)

    def generate_staging_sql(
        self,
        asset: AssetDefinition,
        catalog_name: str | None = None,
        model_name: str | None = None,
        *,
        object_name: str | None = None,
    ) -> str:
        """The staging model SQL (casts, masking, retention and consent filters), with its header.

        A contract with several schema objects needs ``object_name`` (one staging model per object).
        """
        view = single_view(asset, object_name, "staging model")
        self._model_name(view, model_name)
        result = staging_sql(
            view,
            self.options,
            source_name=self._source_name(view, catalog_name),
            head=self._header(asset, "staging model", "--"),
        )
        self._warn(f"{contract_id(asset)}: {w}" for w in result.warnings)
        return result.sql

    def generate_schema_test(
        self, asset: AssetDefinition, catalog_name: str | None = None, *, object_name: str | None = None
    ) -> str:
        """A singular dbt test (save it under ``tests/``) selecting the source rows that break the
        contract's checks: nulls in required columns, duplicated values in unique ones (see
        :mod:`dativo_ingest.dbt.singular`). It reads the source :meth:`generate_source_yaml` names."""
        view = single_view(asset, object_name, "schema test")
        origin = f"contract {contract_id(asset)} v{asset.version}"
        return schema_test_sql(
            view,
            self.options,
            source_name=self._source_name(view, catalog_name, source_type_of),
            head=f"-- {GENERATED_BY} (singular data test) from {origin}.\n",
        )

    def generate_test_definitions(self) -> str:
        """The project file defining dativo's generic tests (range, length, regex, row count, SQL rule)."""
        return header("generic data tests", "dativo", "--") + data_test_definitions(self.options.adapter)

    def generate_dbt_project_yml(self, project_name: str, profile_name: str | None = None) -> dict[str, Any]:
        """A ``dbt_project.yml`` document for a generated project."""
        return project_yml(project_name, profile_name, materialized=self.options.materialized)

    # ----- files --------------------------------------------------------------------------------
    def save_dbt_yaml(
        self,
        asset: AssetDefinition,
        yaml_type: str = "source",
        catalog_name: str | None = None,
        model_name: str | None = None,
        **kwargs: Any,
    ) -> Path:
        """Write one YAML file under ``output_dir``/models and return its path (unchanged files are kept).

        Sources and models go into the per-source files ``dativo dbt generate`` writes
        (``models/staging/<source>/_<source>__sources.yml`` / ``_<source>__models.yml``), merged with the
        nodes already there, so both writers can target one project without defining a node twice.
        """
        if yaml_type not in YAML_TYPES:
            raise DbtError(f"must be one of {', '.join(YAML_TYPES)}, got '{yaml_type}'", field="yaml_type")
        if yaml_type == "exposure":
            doc = self.generate_exposure_yaml(asset, model_name=model_name, **kwargs)
            path = self.output_dir / "models" / "exposures" / f"{doc['exposures'][0]['name']}.yml"
            write_if_changed(path, dump_yaml(doc, head=self._header(asset, "dbt exposure", "#")))
        else:
            if yaml_type == "source":
                doc = self._source_yaml(asset, catalog_name, default_source_name, **kwargs)
            else:
                doc = self.generate_model_yaml(asset, model_name)
            src = source_type_of(asset)
            path = self.output_dir / source_files(src)[f"{yaml_type}s"]
            write_if_changed(path, merged_file(path, doc, f"{yaml_type}s", src))
        if uses_definitions(doc):
            write_if_changed(self.output_dir / DEFINITIONS_PATH, self.generate_test_definitions())
        return path

    def save_staging_model(
        self, asset: AssetDefinition, catalog_name: str | None = None, model_name: str | None = None
    ) -> list[Path]:
        """Write the staging models' SQL (one per schema object) and YAML (and the generic tests they use)."""
        paths = []
        for view in self._views(asset, model_name):
            model = self._model_name(view, model_name)
            sql_path = self.output_dir / "models" / "staging" / source_type_of(view) / f"{model}.sql"
            write_if_changed(sql_path, self.generate_staging_sql(view, catalog_name, model))
            paths.append(sql_path)
        return [*paths, self.save_dbt_yaml(asset, "model", catalog_name, model_name)]

    def generate_project(self, assets: Iterable[Any], config: ProjectConfig | None = None) -> ProjectResult:
        """Write a runnable dbt project for ``assets`` into ``output_dir`` (see :class:`ProjectConfig`)."""
        result = generate_project(list(assets), self.output_dir, config or ProjectConfig(), self.options)
        self._warn(result.warnings)
        return result

    # ----- internals ----------------------------------------------------------------------------
    def _views(self, asset: AssetDefinition, model_name: str | None) -> list[AssetDefinition]:
        """The contract's object views; one model name cannot name the models of several objects."""
        views = object_views(asset)
        if model_name and len(views) > 1:
            raise DbtError(
                f"contract {contract_id(asset)} has {len(views)} schema objects, one staging model each; "
                f"model_name '{model_name}' cannot name them all (leave it unset for stg_<source>__<object>)",
                field="model_name",
            )
        return views

    def _model_document(self, view: AssetDefinition, model_name: str | None) -> dict[str, Any]:
        name, rules = self._model_name(view, model_name), self._rules(view)
        notes = masking_warnings(view, self.options, rules, model_name=name)
        self._warn(f"{contract_id(view)}: {note}" for note in notes)
        return model_document(view, self.options, model_name=name, rules=rules)

    def _rules(self, asset: AssetDefinition) -> RuleSet:
        rules = contract_rules(asset)
        self._warn(f"{contract_id(asset)}: {s}" for s in rules.skipped)
        return rules

    def _warn(self, messages: Iterable[str]) -> None:
        for message in messages:
            if message not in self._seen:
                self._seen.add(message)
                self.warnings.append(message)

    def _model_name(self, asset: AssetDefinition, model_name: str | None) -> str:
        """``model_name``, else the name last used for this contract's model, else the default."""
        key = f"{source_type_of(asset)}.{object_of(asset)}"
        if model_name:
            self._model_names[key] = model_name
            return model_name
        return self._model_names.get(key) or default_model_name(asset)

    def _source_name(
        self,
        asset: AssetDefinition,
        catalog_name: str | None,
        default: Callable[[AssetDefinition], str] | None = None,
    ) -> str:
        """``catalog_name``, else the source name last used for this contract, else ``default`` (which is
        then remembered as used), else ``raw_<source>``."""
        key = f"{source_type_of(asset)}.{object_of(asset)}"
        if catalog_name:
            self._source_names[key] = catalog_name
            return catalog_name
        if key in self._source_names:
            return self._source_names[key]
        if default is None:
            return default_source_name(asset)
        self._source_names[key] = default(asset)
        return self._source_names[key]

    def _styled(self, doc: dict[str, Any]) -> dict[str, Any]:
        return to_legacy(doc) if self.options.style == "legacy" else doc

    @staticmethod
    def _header(asset: AssetDefinition, kind: str, comment: str) -> str:
        return header(kind, f"contract {contract_id(asset)} v{asset.version}", comment)
