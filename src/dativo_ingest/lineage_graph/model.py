"""Plain value objects of the lineage graph: nodes, edges, column edges, node kinds and stable ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dativo_ingest.errors import UsageError

SOURCE = "source"
ASSET = "asset"
TRANSFORMATION = "transformation"
TARGET = "target"
DBT_SOURCE = "dbt_source"
DBT_MODEL = "dbt_model"
DBT_SEED = "dbt_seed"  # a dbt seed (CSV loaded by ``dbt seed``): ``dbt://seed.<project>.<name>``
DBT_SNAPSHOT = "dbt_snapshot"  # a dbt snapshot (SCD table): ``dbt://snapshot.<project>.<name>``
EXPOSURE = "exposure"

KINDS = (SOURCE, ASSET, TRANSFORMATION, TARGET, DBT_SOURCE, DBT_MODEL, DBT_SEED, DBT_SNAPSHOT, EXPOSURE)
# Kinds whose columns keep their names downstream unless column edges say otherwise.
PASS_THROUGH_KINDS = frozenset({SOURCE, ASSET, TRANSFORMATION, TARGET, DBT_SOURCE, DBT_SEED})
CONSUMER_KINDS = frozenset({DBT_MODEL, DBT_SNAPSHOT, EXPOSURE})


@dataclass(frozen=True)
class LineageNode:
    """One node: ``id`` is stable across runs and processes (``source://stripe/customers``)."""

    id: str
    kind: str
    name: str
    attributes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.kind, "name": self.name, "attributes": self.attributes}


@dataclass(frozen=True)
class LineageEdge:
    """A node-level edge ``from_id -> to_id`` of ``edge_type`` (``writes_to``, ``reads``, ...)."""

    from_id: str
    to_id: str
    edge_type: str
    attributes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_id, "to": self.to_id, "type": self.edge_type, "attributes": self.attributes}


@dataclass(frozen=True)
class ColumnEdge:
    """Column ``from_id.from_field`` feeds ``to_id.to_field`` (transformation IDENTITY, DIRECT, MASKED...)."""

    from_id: str
    from_field: str
    to_id: str
    to_field: str
    transformation: str = "IDENTITY"
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.from_id,
            "from_field": self.from_field,
            "to": self.to_id,
            "to_field": self.to_field,
            "transformation": self.transformation,
            "description": self.description,
        }


def _part(value: Any, what: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise UsageError(f"lineage node {what} must not be empty", field=what)
    return text


def source_id(source_type: str, object_name: str) -> str:
    return f"source://{_part(source_type, 'source_type')}/{_part(object_name, 'object')}"


def asset_id(source_type: str, object_name: str, version: str) -> str:
    key = f"{_part(source_type, 'source_type')}/{_part(object_name, 'object')}"
    return f"asset://{key}@{_part(version, 'version')}"


def transformation_id(name: str, scope: str | None = None) -> str:
    name = _part(name, "name")
    return f"transformation://{scope}/{name}" if scope else f"transformation://{name}"


def target_id(target_type: str, catalog: str, table: str) -> str:
    parts = (_part(target_type, "target_type"), _part(catalog, "catalog"), _part(table, "table"))
    return "target://" + "/".join(parts)


def dbt_unique_id(kind: str, name: str) -> str:
    """dbt's ``unique_id`` (``model.shop.stg_customers``); a bare ``name`` becomes ``<kind>.<name>``."""
    name = _part(name, "name")
    if name.startswith("dbt://"):
        name = name[len("dbt://") :]
    return name if name.startswith(f"{kind}.") else f"{kind}.{name}"


def dbt_id(kind: str, name: str) -> str:
    return f"dbt://{dbt_unique_id(kind, name)}"
