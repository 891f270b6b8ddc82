"""The canonical contract model: one pydantic model for both authoring dialects.

Attribute names are snake_case. Each ODCS-native attribute carries its ODCS camelCase name as alias
(``physical_type`` <-> ``physicalType``); dativo-only sections keep their snake_case names
(``source_type``, ``compliance``). Dumping ``by_alias`` therefore yields the dativo authoring format,
and :mod:`dativo_ingest.odcs.convert` maps the model to and from official ODCS documents.

Nested elements keep keys they do not know (``extra="allow"``), so nothing a user wrote is lost.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from dativo_ingest.errors import ContractValidationError
from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.odcs.convert import to_odcs
from dativo_ingest.odcs.dialects import (
    build,
    contract_errors,
    is_odcs_document,
    normalise,
    prune,
    to_authoring,
)
from dativo_ingest.odcs.types import normalize_type
from dativo_ingest.yamlio import dumps, load_mapping

DEFAULT_API_VERSION = "v3.0.2"


class Element(BaseModel):
    """Base of every nested contract element: aliases accepted, unknown keys kept."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", validate_assignment=False)

    def dump(self) -> dict[str, Any]:
        """The element in authoring form (aliases, defaults and empty values left out)."""
        dumped: dict[str, Any] = prune(self.model_dump(by_alias=True, exclude_defaults=True, mode="json"))
        return dumped


class SchemaField(Element):
    """One column or property; ``properties`` nests object members and ``items`` describes array elements."""

    name: str
    type: str | None = None
    physical_type: str | None = Field(None, alias="physicalType")
    physical_name: str | None = Field(None, alias="physicalName")
    business_name: str | None = Field(None, alias="businessName")
    description: str | None = None
    required: bool = False
    unique: bool = False
    primary_key: bool = Field(False, alias="primaryKey")
    primary_key_position: int | None = Field(None, alias="primaryKeyPosition")
    partitioned: bool = False
    partition_key_position: int | None = Field(None, alias="partitionKeyPosition")
    classification: str | None = None
    tags: list[str] = Field(default_factory=list)
    examples: list[Any] | None = None
    critical_data_element: bool = Field(False, alias="criticalDataElement")
    encrypted_name: str | None = Field(None, alias="encryptedName")
    transform_source_objects: list[str] | None = Field(None, alias="transformSourceObjects")
    transform_logic: str | None = Field(None, alias="transformLogic")
    transform_description: str | None = Field(None, alias="transformDescription")
    logical_type_options: dict[str, Any] | None = Field(None, alias="logicalTypeOptions")
    quality: list[dict[str, Any]] = Field(default_factory=list)
    authoritative_definitions: list[dict[str, Any]] = Field(
        default_factory=list, alias="authoritativeDefinitions"
    )
    custom_properties: list[dict[str, Any]] = Field(default_factory=list, alias="customProperties")
    properties: list[SchemaField] = Field(default_factory=list)
    items: SchemaField | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _normalise_type(cls, value: Any) -> Any:
        return normalize_type(value) if isinstance(value, str) else value

    @field_validator("examples", "transform_source_objects", "logical_type_options", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: Any) -> Any:
        return None if value in ([], {}) else value

    def walk(self, prefix: str = "") -> Iterator[tuple[str, SchemaField]]:
        """This field and every nested one, as ``(dotted_path, field)``; array items appear as ``name[]``."""
        path = f"{prefix}{self.name}"
        yield path, self
        for child in self.properties:
            yield from child.walk(f"{path}.")
        if self.items is not None:
            yield from self.items.walk(f"{path}[].") if self.items.name else ()


class SchemaObject(Element):
    """A table, topic or file: an ODCS schema object holding properties."""

    name: str
    physical_name: str | None = Field(None, alias="physicalName")
    physical_type: str | None = Field(None, alias="physicalType")
    business_name: str | None = Field(None, alias="businessName")
    description: str | None = None
    data_granularity_description: str | None = Field(None, alias="dataGranularityDescription")
    tags: list[str] = Field(default_factory=list)
    quality: list[dict[str, Any]] = Field(default_factory=list)
    authoritative_definitions: list[dict[str, Any]] = Field(
        default_factory=list, alias="authoritativeDefinitions"
    )
    custom_properties: list[dict[str, Any]] = Field(default_factory=list, alias="customProperties")
    properties: list[SchemaField] = Field(default_factory=list)


class Description(Element):
    """What the data is for (ODCS ``description``)."""

    purpose: str | None = None
    usage: str | None = None
    limitations: str | None = None
    authoritative_definitions: list[dict[str, Any]] = Field(
        default_factory=list, alias="authoritativeDefinitions"
    )
    custom_properties: list[dict[str, Any]] = Field(default_factory=list, alias="customProperties")


class TeamMember(Element):
    """A person with a role on the contract (ODCS team member; dativo ``team.roles`` entry)."""

    role: str | None = None
    username: str | None = Field(None, validation_alias=AliasChoices("username", "email"))
    name: str | None = None
    description: str | None = Field(None, validation_alias=AliasChoices("description", "responsibility"))
    date_in: str | None = Field(None, alias="dateIn")
    date_out: str | None = Field(None, alias="dateOut")
    replaced_by_username: str | None = Field(None, alias="replacedByUsername")


class Team(Element):
    """Ownership: the accountable ``owner`` and the other roles."""

    owner: str | None = None
    roles: list[TeamMember] = Field(default_factory=list)
    name: str | None = None
    description: str | None = None


class Compliance(Element):
    """Governance requirements (dativo section; retention has an ODCS home in ``slaProperties``)."""

    classification: list[str] = Field(default_factory=list)
    regulations: list[str] = Field(default_factory=list)
    retention_days: int | None = None
    security: dict[str, Any] = Field(default_factory=dict)
    user_consent_required: bool = False

    @field_validator("classification", "regulations", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Expectation(Element):
    """A data-quality expectation on a column (``not_null``, ``unique``, ``accepted_values``, ...)."""

    type: str
    column: str | None = None
    values: list[Any] | None = None


class DataQuality(Element):
    """Monitoring set-up and expectations (dativo section)."""

    monitoring: dict[str, Any] | None = None
    expectations: list[Expectation] = Field(default_factory=list)


class AssetDefinition(BaseModel):
    """A data contract: the canonical model every dativo service works on.

    Build it from the dativo authoring format or from an official ODCS v3.0.x/v3.1/v3.2 document with
    :meth:`from_dict` / :meth:`from_yaml`, or by keyword (``AssetDefinition(version="1.0.0",
    schema=[{"name": "id", "type": "string"}])``). Attributes are mutable.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    schema_uri: str | None = Field(None, alias="$schema")
    api_version: str = Field(DEFAULT_API_VERSION, alias="apiVersion")
    kind: str = "DataContract"
    id: str | None = None
    name: str | None = None
    version: str = "1.0.0"
    status: str = "active"
    tenant: str | None = None
    source_type: str | None = None
    object: str | None = None
    domain: str | None = None
    data_product: str | None = Field(None, alias="dataProduct")
    description: Description | None = None
    #: ODCS v3.2 AI/semantic context block: instructions as a string, or an object (RFC 0038).
    context: str | dict[str, Any] | None = None
    tags: list[str] = Field(default_factory=list)
    team: Team | None = None
    compliance: Compliance | None = None
    data_quality: DataQuality | None = None
    change_management: dict[str, Any] | None = None
    objects: list[SchemaObject] = Field(default_factory=list)
    servers: list[dict[str, Any]] = Field(default_factory=list)
    support: list[dict[str, Any]] = Field(default_factory=list)
    price: dict[str, Any] | None = None
    access_roles: list[dict[str, Any]] = Field(default_factory=list, alias="roles")
    sla_default_element: str | None = Field(None, alias="slaDefaultElement")
    sla_properties: list[dict[str, Any]] = Field(default_factory=list, alias="slaProperties")
    authoritative_definitions: list[dict[str, Any]] = Field(
        default_factory=list, alias="authoritativeDefinitions"
    )
    custom_properties: list[dict[str, Any]] = Field(default_factory=list, alias="customProperties")
    contract_created_ts: str | None = Field(None, alias="contractCreatedTs")
    #: True when built from an official ODCS document (validation then reports ODCS paths).
    _odcs_source: bool = PrivateAttr(False)

    # ----- construction -------------------------------------------------------------------------
    def __init__(self, /, **data: Any) -> None:
        with contract_errors(data):
            super().__init__(**normalise(data))
        self._odcs_source = is_odcs_document(data)

    def __eq__(self, other: builtins.object) -> bool:  # ``object`` is a field name here
        """Equal contents are equal contracts, whichever dialect each was read from."""
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, like every pydantic model

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> AssetDefinition:
        """Build from a dativo-format or ODCS document; errors name ``source`` and the field."""
        return build(cls, data, source=source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> AssetDefinition:
        """Load a contract file (dativo format or ODCS v3.x)."""
        return cls.from_dict(load_mapping(path), source=str(path))

    # ----- output -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The contract in the dativo authoring format (flat ``schema`` for a single-object contract)."""
        return to_authoring(self)

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The authoring format as YAML; also written (atomically) to ``path`` when given."""
        text = dumps(self.to_dict())
        if path is not None:
            atomic_write_text(path, text)
        return text

    def to_odcs(self, api_version: str = DEFAULT_API_VERSION) -> dict[str, Any]:
        """An official ODCS document (``v3.0.2``, ``v3.1.0`` or ``v3.2.0``) that validates against its
        JSON Schema."""
        return to_odcs(self, api_version=api_version)

    # ----- convenience views --------------------------------------------------------------------
    @property  # type: ignore[override]  # shadows pydantic's deprecated ``BaseModel.schema()``
    def schema(self) -> list[SchemaField]:
        """The fields of the primary schema object (the dativo ``schema`` list)."""
        return self.fields

    @schema.setter
    def schema(self, fields: list[Any]) -> None:
        parsed = [f if isinstance(f, SchemaField) else SchemaField.model_validate(f) for f in fields]
        if self.objects:
            self.objects[0].properties = parsed
        else:
            self.objects = [SchemaObject(name=self.object_name, properties=parsed)]

    @property
    def fields(self) -> list[SchemaField]:
        """The fields of the primary schema object."""
        return self.objects[0].properties if self.objects else []

    @property
    def primary_object(self) -> SchemaObject | None:
        return self.objects[0] if self.objects else None

    @property
    def object_name(self) -> str:
        """The object (table) described: ``object``, else the first schema object's name, else ``name``."""
        if self.object:
            return self.object
        if self.objects:
            return self.objects[0].name
        return self.name or "unnamed"

    @property
    def is_odcs_source(self) -> bool:
        """True when built from an official ODCS document (messages then use ODCS paths)."""
        return self._odcs_source

    @property
    def owner(self) -> str | None:
        return self.team.owner if self.team else None

    @property
    def classifications(self) -> list[str]:
        """Sorted union of contract-level and field-level classification labels (upper case)."""
        labels = {c.upper() for c in (self.compliance.classification if self.compliance else [])}
        labels.update(f.classification.upper() for _, f in self.iter_fields() if f.classification)
        return sorted(labels)

    @property
    def retention_days(self) -> int | None:
        return self.compliance.retention_days if self.compliance else None

    @property
    def expectations(self) -> list[Expectation]:
        return self.data_quality.expectations if self.data_quality else []

    def iter_fields(self, all_objects: bool = False) -> Iterator[tuple[str, SchemaField]]:
        """Every field of the primary object (or of all objects), nested ones included, with its path."""
        objects = self.objects if all_objects else self.objects[:1]
        for obj in objects:
            prefix = f"{obj.name}." if all_objects else ""
            for top in obj.properties:
                yield from top.walk(prefix)

    def compliance_column(self, key: str) -> str | None:
        """The column named in ``compliance.<key>`` (``event_time_column``, ``consent_column``, ...), or None;
        a name the schema does not declare is a :class:`ContractValidationError`."""
        extra = (self.compliance.model_extra or {}) if self.compliance else {}
        name = extra.get(key)
        if name is None:
            return None
        if not any(f.name == name for f in self.fields):
            message = f"names '{name}', which is not a column of the schema"
            raise ContractValidationError(message, field=f"compliance.{key}")
        return str(name)

    def require_fields(self, purpose: str) -> None:
        """Refuse a contract that declares no fields (an ODCS template or draft) for ``purpose``, which
        needs them (``"dbt generation"``, ``"ingestion"``, ...): one :class:`ContractValidationError`."""
        if not any(obj.properties for obj in self.objects):
            label = self.id or self.name or self.object_name
            raise ContractValidationError(
                f"contract '{label}' declares no schema fields; {purpose} needs at least one", field="schema"
            )

    def get_field(self, path: str) -> SchemaField | None:
        """The field at a dotted path of the primary object (``address.city``), or None."""
        return next((f for p, f in self.iter_fields() if p == path), None)


SchemaField.model_rebuild()
