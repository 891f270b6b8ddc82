"""A relational table, however it was read (database reflection, DDL), as a contract object.

Columns are mapped by :mod:`.sqltypes`; NOT NULL -> ``required``; the primary key -> ``primaryKey``
(``primaryKeyPosition`` for each part of a composite key) and, for a single-column key, ``unique``;
single-column unique constraints -> ``unique``, composite ones -> a ``duplicateValues`` quality rule over
their columns; foreign keys -> relationships expectations; CHECK constraints -> :mod:`.constraints`;
comments -> descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from dativo_ingest.importers.base import relationship
from dativo_ingest.importers.constraints import read_checks
from dativo_ingest.importers.sqltypes import column_field, field_from_type
from dativo_ingest.odcs.model import SchemaObject


@dataclass
class ColumnSpec:
    name: str
    #: The type as the source spells it (``VARCHAR(20)``), or a parsed sqlglot type.
    type_text: str
    nullable: bool = True
    comment: str | None = None
    parsed: exp.DataType | None = None
    #: Accepted values the type itself declares (a PostgreSQL enum type).
    enum: list[Any] | None = None


@dataclass
class ForeignKeySpec:
    columns: list[str]
    table: str
    referred: list[str]
    schema: str | None = None


@dataclass
class TableSpec:
    """A table's structure and constraints, source-neutral."""

    name: str
    schema: str | None
    dialect: str | None
    columns: list[ColumnSpec] = field(default_factory=list)
    comment: str | None = None
    primary_key: list[str] = field(default_factory=list)
    uniques: list[list[str]] = field(default_factory=list)
    foreign_keys: list[ForeignKeySpec] = field(default_factory=list)
    #: ``(constraint name, parsed condition or None, text)``.
    checks: list[tuple[str | None, exp.Expression | None, str]] = field(default_factory=list)
    physical_type: str = "table"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


def table_object(spec: TableSpec) -> tuple[SchemaObject, list[dict[str, Any]], list[str]]:
    """The schema object of ``spec``, its relationships expectations, and warnings about what did not
    map (composite foreign keys: the relationships check is single-column)."""
    entries = [_typed(spec, column) for column in spec.columns]
    facts = read_checks(spec.checks, {e["name"]: e.get("type") for e in entries}, spec.dialect)
    composite = len(spec.primary_key) > 1
    single_uniques = {u[0] for u in spec.uniques if len(u) == 1}
    fields: list[dict[str, Any]] = []
    for column, entry in zip(spec.columns, entries, strict=True):
        options: dict[str, Any] = dict(entry.get("logicalTypeOptions") or {})
        column_facts = facts.columns.get(column.name)
        enum = column.enum or options.pop("enum", None)
        if column_facts is not None:
            options.update(column_facts.options)
            if column_facts.enum is not None:
                enum = column_facts.enum if enum is None else [v for v in enum if v in column_facts.enum]
        if enum is not None:
            options["enum"] = enum
        if options:
            entry["logicalTypeOptions"] = options
        if not column.nullable or (column_facts is not None and column_facts.required):
            entry["required"] = True
        if column.name in spec.primary_key:
            entry["primaryKey"] = True
            entry["required"] = True
            if composite:
                entry["primaryKeyPosition"] = spec.primary_key.index(column.name) + 1
            else:
                entry["unique"] = True
        if column.name in single_uniques:
            entry["unique"] = True
        if column.comment:
            entry["description"] = column.comment
        fields.append(entry)
    quality = [
        {"type": "library", "metric": "duplicateValues", "arguments": {"properties": list(u)}, "mustBe": 0}
        for u in sorted({tuple(u) for u in spec.uniques if len(u) > 1})
    ]
    quality.extend(facts.rules)
    obj: dict[str, Any] = {
        "name": spec.name,
        "physicalName": spec.qualified,
        "physicalType": spec.physical_type,
        "properties": fields,
        "quality": quality,
    }
    if spec.comment:
        obj["description"] = spec.comment
    expectations = [
        relationship(fk.columns[0], fk.table, fk.referred[0])
        for fk in sorted(spec.foreign_keys, key=lambda f: (f.columns, f.table, f.referred))
        if len(fk.columns) == 1 and len(fk.referred) == 1
    ]
    warnings = [
        f"{spec.qualified}: foreign key ({', '.join(fk.columns)}) -> {fk.table} spans several columns; "
        "not imported (relationships checks are single-column)"
        for fk in spec.foreign_keys
        if len(fk.columns) != 1 or len(fk.referred) != 1
    ]
    return SchemaObject.model_validate(obj), expectations, warnings


def _typed(spec: TableSpec, column: ColumnSpec) -> dict[str, Any]:
    where = f"{spec.qualified}.{column.name}"
    if column.parsed is None:
        return column_field(column.name, column.type_text, spec.dialect, where)
    entry = field_from_type(column.name, column.parsed, spec.dialect, where)
    entry["physicalType"] = column.type_text
    return entry
