"""dbt integration: contracts become dbt sources, staging models, exposures and whole projects.

Public face of :mod:`dativo_ingest.dbt` (the generator is :mod:`dativo_ingest.dbt.generator`).
Documents are plain dicts in current dbt syntax (dbt >= 1.10: ``data_tests`` with ``arguments``,
``config: {meta, tags}``, enforced model contracts); ``style="legacy"`` writes the pre-1.10 spelling.
Generation never modifies the contract, is deterministic, and files are only rewritten when their
content changes. Every generated file starts with a header saying so. A contract with several schema
objects gives one source table and one staging model per object.

    generator = DBTGenerator(output_dir="dbt")
    generator.save_dbt_yaml(asset=asset, yaml_type="source", catalog_name="raw_stripe")
    generator.save_dbt_yaml(asset=asset, yaml_type="model", model_name="stg_stripe_customers")
    generator.save_dbt_yaml(asset=asset, yaml_type="exposure")
    generator.generate_schema_test(asset)   # a singular dbt test: rows breaking required/unique columns
"""

from dativo_ingest.dbt.generator import YAML_TYPES, DBTGenerator
from dativo_ingest.dbt.options import GenerationOptions
from dativo_ingest.dbt.project import ProjectConfig, ProjectResult

__all__ = ["YAML_TYPES", "DBTGenerator", "GenerationOptions", "ProjectConfig", "ProjectResult"]
