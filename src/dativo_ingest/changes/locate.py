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

import re

import yaml

from dativo_ingest.changes.base import Change
from dativo_ingest.odcs.model import AssetDefinition, SchemaField
from dativo_ingest.yamlio import BOM, line_of

Node = yaml.Node

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


def _named(seq: Node | None, name: str) -> Node | None:
    """The mapping with ``name: <name>`` in a sequence node."""
    if not isinstance(seq, yaml.SequenceNode):
        return None
    for item in seq.value:
        found = _key(item, "name")
        if found is not None and getattr(found[1], "value", None) == name:
            return item  # type: ignore[no-any-return]  # PyYAML's nodes are untyped
    return None


class ChangeLocator:
    """Lines of changes in one contract file (``text``), given the two versions the changes are between."""

    def __init__(self, text: str, old: AssetDefinition | None, new: AssetDefinition) -> None:
        self.text = text.removeprefix(BOM)
        try:
            self.root: Node | None = yaml.compose(self.text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self.root = None
        self.old, self.new = old, new
        self.multi = len(new.objects) > 1 or (old is not None and len(old.objects) > 1)
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
        home = _SECTION_HOMES.get(change.path, change.path) if self.object_level else change.path
        found_line = line_of(self.text, home) if home else None
        if found_line is None and "." in home:
            found_line = line_of(self.text, home.split(".", 1)[0])
        return found_line or (_line(self.schema_key) if self.schema_key else 1)

    # ----- fields -------------------------------------------------------------------------------
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
        obj_name, segments = self._split(path)
        if not segments:
            return None
        objects = [o for o in asset.objects if obj_name is None or o.name == obj_name][:1]
        if not objects:
            return None
        fields: list[SchemaField] = objects[0].properties
        node: SchemaField | None = None
        for segment in segments:
            name, items = segment.removesuffix("[]"), segment.endswith("[]")
            node = next((f for f in fields if f.name == name), None)
            if node is None:
                return None
            if items:
                if node.items is None:
                    return None
                node = node.items
            fields = node.properties
        return node

    def _object(self, name: str | None) -> Node | None:
        if not self.object_level:
            return self.schema
        if name is None:
            items = self.schema.value if isinstance(self.schema, yaml.SequenceNode) else []
            return items[0] if items else None
        return _named(self.schema, name)

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
            node = _named(seq, name)
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
            return self._key_line(node, change) or _line(node)
        return self._gap_line(change.path, seq)

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
        if self.old is None:
            return _line(seq) if seq is not None else None
        obj_name, segments = self._split(path)
        if len(segments) > 1:
            parent = ".".join(([obj_name] if obj_name else []) + segments[:-1])
            holder = self._model_field(self.old, parent)
            siblings = [f.name for f in holder.properties] if holder else []
        else:
            objects = [o for o in self.old.objects if obj_name is None or o.name == obj_name][:1]
            siblings = [f.name for f in objects[0].properties] if objects else []
        leaf = segments[-1] if segments else path
        name = leaf.removesuffix("[]")
        if name in siblings:
            at = siblings.index(name)
            for other in siblings[at + 1 :] + siblings[:at][::-1]:
                found = _named(seq, other)
                if found is not None:
                    return _line(found)
        if seq is not None:
            return _line(seq)
        return _line(self.schema_key) if self.schema_key is not None else None
