"""Plain value objects of the lineage graph: nodes, edges, column edges, node kinds and stable ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
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
#: The edge type of an edge added without one.
DEFAULT_EDGE_TYPE = "depends_on"

KINDS = (SOURCE, ASSET, TRANSFORMATION, TARGET, DBT_SOURCE, DBT_MODEL, DBT_SEED, DBT_SNAPSHOT, EXPOSURE)
# Kinds whose columns keep their names downstream unless column edges say otherwise.
PASS_THROUGH_KINDS = frozenset({SOURCE, ASSET, TRANSFORMATION, TARGET, DBT_SOURCE, DBT_SEED})
CONSUMER_KINDS = frozenset({DBT_MODEL, DBT_SNAPSHOT, EXPOSURE})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _one(value: Any, alias: Any, what: str, alias_name: str) -> Any:
    """``value`` given under its own name or under ``alias_name`` (not both, differently)."""
    if alias is None:
        return value
    if value is not None and value != alias:
        raise UsageError(f"{what} and {alias_name} name the same thing; give one", field=alias_name)
    return alias


@dataclass(frozen=True, init=False)
class LineageNode:
    """One node: ``id`` is stable across runs and processes (``source://stripe/customers``).

    Also constructed the reference implementation's way,
    ``LineageNode(node_id=..., node_type=..., name=..., version=None)``; ``node_id``, ``node_type`` and
    ``version`` read back as attributes (``version`` lives in ``attributes``). ``timestamp`` is when the
    node was stored (or built, before that).
    """

    id: str
    kind: str
    name: str
    attributes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    timestamp: str = field(default="", compare=False, hash=False)

    def __init__(
        self,
        id: str | None = None,
        kind: str | None = None,
        name: str = "",
        attributes: dict[str, Any] | None = None,
        timestamp: str | None = None,
        *,
        node_id: str | None = None,
        node_type: str | None = None,
        version: str | None = None,
    ) -> None:
        node_id = _one(id, node_id, "id", "node_id")
        node_type = _one(kind, node_type, "kind", "node_type")
        if node_id is None or node_type is None:
            raise UsageError("a lineage node needs an id (node_id) and a kind (node_type)", field="node_id")
        attrs = attributes if attributes is not None else {}
        if version is not None:
            attrs = {**attrs, "version": version}
        object.__setattr__(self, "id", str(node_id))
        object.__setattr__(self, "kind", str(node_type))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "attributes", attrs)
        object.__setattr__(self, "timestamp", timestamp or _now())

    @property
    def node_id(self) -> str:
        return self.id

    @property
    def node_type(self) -> str:
        return self.kind

    @property
    def version(self) -> str | None:
        """The contract version of an asset node (None for other kinds unless given)."""
        value = self.attributes.get("version")
        return None if value is None else str(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.kind,
            "name": self.name,
            "attributes": self.attributes,
            "node_id": self.id,
            "node_type": self.kind,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, init=False)
class LineageEdge:
    """A node-level edge ``from_id -> to_id`` of ``edge_type`` (``writes_to``, ``reads``, ...).

    Also constructed as ``LineageEdge(from_node_id=..., to_node_id=..., edge_type=...)``;
    ``from_node_id``/``to_node_id`` read back as other names of ``from_id``/``to_id``.
    """

    from_id: str
    to_id: str
    edge_type: str
    attributes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __init__(
        self,
        from_id: str | None = None,
        to_id: str | None = None,
        edge_type: str = DEFAULT_EDGE_TYPE,
        attributes: dict[str, Any] | None = None,
        *,
        from_node_id: str | None = None,
        to_node_id: str | None = None,
    ) -> None:
        source = _one(from_id, from_node_id, "from_id", "from_node_id")
        target = _one(to_id, to_node_id, "to_id", "to_node_id")
        if source is None or target is None:
            raise UsageError(
                "a lineage edge needs both ends (from_node_id, to_node_id)", field="from_node_id"
            )
        object.__setattr__(self, "from_id", str(source))
        object.__setattr__(self, "to_id", str(target))
        object.__setattr__(self, "edge_type", edge_type)
        object.__setattr__(self, "attributes", attributes if attributes is not None else {})

    @property
    def from_node_id(self) -> str:
        return self.from_id

    @property
    def to_node_id(self) -> str:
        return self.to_id

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
