"""Names of the dbt nodes and files generated for a contract: ``raw_<source_type>`` sources and
``stg_<source>__<object>`` staging models, built from dbt-safe name parts."""

from __future__ import annotations

import re

from dativo_ingest.odcs.model import AssetDefinition

_NON_WORD = re.compile(r"[^a-z0-9_]+")


def slug(text: str | None) -> str:
    """A dbt-safe lower-case name part (letters, digits, underscores)."""
    cleaned = _NON_WORD.sub("_", str(text or "").lower()).strip("_")
    return cleaned or "unnamed"


def source_type_of(asset: AssetDefinition) -> str:
    return slug(asset.source_type or (asset.name or "contract").split("_")[0])


def object_of(asset: AssetDefinition) -> str:
    return slug(asset.object_name)


def default_source_name(asset: AssetDefinition) -> str:
    """The dbt source a contract's raw table belongs to: ``raw_<source_type>``."""
    return f"raw_{source_type_of(asset)}"


def default_model_name(asset: AssetDefinition) -> str:
    """The staging model of a contract: ``stg_<source>__<object>``."""
    return f"stg_{source_type_of(asset)}__{object_of(asset)}"
