"""Where a change sits in the new contract file: the 1-based line of the changed field's key.

Change paths name fields as the engine pairs them (``email``, ``address.city``, ``tags[]``, object-prefixed
``orders.email`` when a contract has several objects) or contract sections (``compliance.retention_days``,
``data_quality.expectations``). :class:`ChangeLocator` composes the YAML text once (PyYAML nodes carry their
marks, as :func:`dativo_ingest.yamlio.line_of` uses them) and finds, for a field, the line of the key the
change is about (``logicalType``/``type``, ``required``, ``logicalTypeOptions.maximum`` ...), else the field's
own line; a removed field points at the line where it was (the next field that survived, else the one
before, else its parent's list). Both dialects are read: the dativo format's flat ``schema`` list of typed
fields and ODCS schema objects with nested ``properties``.
"""

from __future__ import annotations

import itertools
import re

import yaml

from dativo_ingest.changes.base import Change
from dativo_ingest.changes.engine import flatten
from dativo_ingest.odcs.model import AssetDefinition, SchemaField
from dativo_ingest.yamlio import BOM, node_line

Node = yaml.Node
#: libyaml's composer when PyYAML was built with it (its nodes carry the same marks), else PyYAML's own.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Keys a change kind is about, in the order tried (inside the field, then its ``logicalTypeOptions``).
_KIND_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("physical_type", ("physicalType",)),
    ("type_", ("logicalType", "type")),
    ("made_", ("required", "nullable")),
    ("unique_", ("unique",)),
    ("primary_key_", ("primaryKey", "primaryKeyPosition")),
    ("accepted_values", ("enum", "accepted_values", "values")),
    ("pattern", ("pattern",)),
    ("format", ("format",)),
    ("quality_rule", ("quality",)),
    ("classification", ("classification",)),
    ("documentation", ("description",)),
    ("physical_name", ("physicalName",)),
    ("type_option", ("logicalTypeOptions",)),
)
#: ODCS homes of dativo sections (as :mod:`dativo_ingest.odcs.paths` spells them).
_SECTION_HOMES = {"compliance.retention_days": "slaProperties", "team.owner": "team"}
_WORD = re.compile(r"[A-Za-z_][\w]*")


def _key(node: Node | None, key: str) -> tuple[Node, Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _names(seq: Node) -> dict[str, Node]:
    """``{name: mapping}`` of the mappings with a ``name`` key in a sequence node (first one wins)."""
    index: dict[str, Node] = {}
    for item in seq.value:
        found = _key(item, "name")
        if found is not None and isinstance(getattr(found[1], "value", None), str):
            index.setdefault(found[1].value, item)
    return index


def _field_paths(asset: AssetDefinition, multi: bool) -> dict[str, SchemaField]:
    """Every field by its engine path (object-prefixed when the contract pair has several objects)."""
    found: dict[str, SchemaField] = {}
    for obj in asset.objects if multi else asset.objects[:1]:
        prefix = f"{obj.name}." if multi else ""
        found.update({prefix + path: field for path, field in flatten(obj.properties).items()})
    return found


class ChangeLocator:
    """Lines of changes in one contract file (``text``), given the two versions the changes are between."""

    def __init__(self, text: str, old: AssetDefinition | None, new: AssetDefinition) -> None:
        self.text = text.removeprefix(BOM)
        try:
            self.root: Node | None = yaml.compose(self.text, Loader=_LOADER)
        except yaml.YAMLError:
            self.root = None
        self.old, self.new = old, new
        self._indexes: dict[int, dict[str, Node]] = {}  # id(sequence node) -> its items by name
        self.multi = len(new.objects) > 1 or (old is not None and len(old.objects) > 1)
        self._new_fields = _field_paths(new, self.multi)
        self._old_fields = _field_paths(old, self.multi) if old is not None else {}
        self._sibling_cache: dict[str, tuple[list[str], dict[str, int]]] = {}
        schema = _key(self.root, "schema")
        self.schema_key: Node | None = schema[0] if schema else None
        self.schema: Node | None = schema[1] if schema else None
        items = self.schema.value if isinstance(self.schema, yaml.SequenceNode) else []
        #: ODCS (and multi-object dativo): schema items are objects; dativo: they are typed fields.
        self.object_level = bool(items) and not any(_key(i, "type") for i in items)

    def line(self, change: Change) -> int | None:
        """The 1-based line of ``change`` in the text, or None when the file cannot be read as YAML."""
        if self.root is None:
            return None
        if self.is_field(change.path):
            return self._field_line(change)
        if change.kind.startswith("object_") or change.kind == "physical_name_changed":
            found = self._object(change.path)
            if found is not None:
                return _line(found)
        if self.object_level and change.path == "compliance.retention_days":
            retention = self._sla_line("retention")
            if retention is not None:
                return retention
        home = _SECTION_HOMES.get(change.path, change.path) if self.object_level else change.path
        found_line = node_line(self.root, home) if home else None
        if found_line is None and "." in home:
            found_line = node_line(self.root, home.split(".", 1)[0])
        return found_line or (_line(self.schema_key) if self.schema_key else 1)

    def _sla_line(self, prop: str) -> int | None:
        """The ``value`` line of the ODCS ``slaProperties`` item ``property: <prop>``."""
        found = _key(self.root, "slaProperties")
        items = found[1] if found else None
        for item in items.value if isinstance(items, yaml.SequenceNode) else []:
            name = _key(item, "property")
            if name is not None and getattr(name[1], "value", None) == prop:
                value = _key(item, "value")
                return _line(value[0] if value else item)
        return None

    # ----- fields -------------------------------------------------------------------------------
    def _named(self, seq: Node | None, name: str) -> Node | None:
        """The mapping with ``name: <name>`` in a sequence node (indexed once per sequence)."""
        if not isinstance(seq, yaml.SequenceNode):
            return None
        index = self._indexes.get(id(seq))
        if index is None:
            index = self._indexes[id(seq)] = _names(seq)
        return index.get(name)

    def is_field(self, path: str) -> bool:
        return self._model_field(self.new, path) is not None or (
            self.old is not None and self._model_field(self.old, path) is not None
        )

    def _split(self, path: str) -> tuple[str | None, list[str]]:
        """``(object name or None, field segments)`` of an engine path."""
        parts = path.split(".")
        if self.multi:
            return parts[0], parts[1:]
        return None, parts

    def _model_field(self, asset: AssetDefinition, path: str) -> SchemaField | None:
        fields = self._new_fields if asset is self.new else self._old_fields
        return fields.get(path)

    def _object(self, name: str | None) -> Node | None:
        if not self.object_level:
            return self.schema
        if name is None:
            items = self.schema.value if isinstance(self.schema, yaml.SequenceNode) else []
            return items[0] if items else None
        return self._named(self.schema, name)

    def _fields_node(self, obj_name: str | None) -> Node | None:
        obj = self._object(obj_name)
        if not self.object_level:
            return obj
        found = _key(obj, "properties")
        return found[1] if found else None

    def _field_node(self, path: str) -> tuple[Node | None, Node | None]:
        """``(field mapping node, its enclosing list node)``; the mapping is None when it is gone."""
        obj_name, segments = self._split(path)
        seq = self._fields_node(obj_name)
        node: Node | None = None
        for position, segment in enumerate(segments):
            name, items = segment.removesuffix("[]"), segment.endswith("[]")
            node = self._named(seq, name)
            if node is None:
                return None, seq if position == len(segments) - 1 else None
            if items:
                found = _key(node, "items")
                node = found[1] if found else None
            if position < len(segments) - 1:
                found = _key(node, "properties")
                seq = found[1] if found else None
        return node, seq

    def _field_line(self, change: Change) -> int | None:
        node, seq = self._field_node(change.path)
        if node is not None:
            return self._key_line(node, change) or self._values_line(node, change) or _line(node)
        return self._gap_line(change.path, seq)

    def _values_line(self, node: Node, change: Change) -> int | None:
        """An accepted-values change: the ``validValues`` of the field's ODCS quality rule, else the
        ``values`` of the dativo ``data_quality.expectations`` entry for the field's column."""
        if not change.kind.startswith("accepted_values"):
            return None
        rules = _key(node, "quality")
        for rule in rules[1].value if rules and isinstance(rules[1], yaml.SequenceNode) else []:
            found = _key(rule, "validValues")
            if found is not None:
                return _line(found[0])
        name = _key(node, "name")
        column = name[1].value if name is not None else None
        section = _key(self.root, "data_quality")
        expectations = _key(section[1], "expectations") if section else None
        items = expectations[1] if expectations else None
        for item in items.value if isinstance(items, yaml.SequenceNode) else []:
            found_column = _key(item, "column")
            values = _key(item, "values")
            if found_column is not None and found_column[1].value == column and values is not None:
                return _line(values[0])
        return None

    def _key_line(self, node: Node, change: Change) -> int | None:
        """The line of the key ``change`` is about, inside the field or its ``logicalTypeOptions``."""
        candidates: list[str] = []
        for prefix, keys in _KIND_KEYS:
            if change.kind.startswith(prefix):
                candidates.extend(keys)
        first_word = _WORD.match(change.message)
        if first_word:  # bounds and flags name their key first ("maximum 10 added", "nullable set")
            candidates.append(first_word.group(0))
        if change.kind.endswith("metadata_changed") and ":" in change.message:
            candidates.extend(k.strip() for k in change.message.split(":", 1)[1].split(","))
        options = _key(node, "logicalTypeOptions")
        for key in candidates:
            for holder in (node, options[1] if options else None):
                found = _key(holder, key)
                if found is not None:
                    return _line(found[0])
        return None

    def _gap_line(self, path: str, seq: Node | None) -> int | None:
        """Where a removed field was: the next surviving sibling, else the previous, else the list."""
        if self.old is not None:
            obj_name, segments = self._split(path)
            parent = ".".join(([obj_name] if obj_name else []) + segments[:-1])
            names, positions = self._siblings(parent, obj_name, len(segments) > 1)
            at = positions.get(segments[-1].removesuffix("[]") if segments else path)
            if at is not None:
                for other in itertools.chain(names[at + 1 :], reversed(names[:at])):
                    found = self._named(seq, other)
                    if found is not None:
                        return _line(found)
        if seq is not None:
            return _line(seq)
        return _line(self.schema_key) if self.schema_key is not None else None

    def _siblings(self, parent: str, obj_name: str | None, nested: bool) -> tuple[list[str], dict[str, int]]:
        """The old version's field names under ``parent`` and their positions (computed once each)."""
        cached = self._sibling_cache.get(parent)
        if cached is None:
            if nested:
                holder = self._old_fields.get(parent)
                names = [f.name for f in holder.properties] if holder else []
            else:
                assert self.old is not None
                objects = [o for o in self.old.objects if obj_name is None or o.name == obj_name][:1]
                names = [f.name for f in objects[0].properties] if objects else []
            positions: dict[str, int] = {}
            for position, name in enumerate(names):
                positions.setdefault(name, position)
            cached = self._sibling_cache[parent] = (names, positions)
        return cached
