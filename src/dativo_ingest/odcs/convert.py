"""Official ODCS v3.0.x / v3.1 / v3.2 documents to and from the canonical model.

Everything with a standard ODCS home goes there: owner and roles -> ``team``; field classification ->
property ``classification``; ``compliance.retention_days`` -> ``slaProperties`` (``retention``, days);
expectations -> ``quality`` rules on their property; description, tags, domain and dataProduct as they
are. What ODCS has no home for travels in ``customProperties`` under ``dativo.<key>``, so converting
back yields an equal model. What a newer version added (v3.2: ``context``, ``iceberg`` and other new
server types, property ``enum`` entries, ``semanticType``, ``synonyms``, ``deprecated``) is written in its
own place for that version and in ``customProperties`` for older ones.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dativo_ingest.errors import UsageError
from dativo_ingest.odcs.quality import (
    AcceptedValues,
    Check,
    NotNull,
    RowCount,
    SqlCheck,
    Unique,
    contract_checks,
)
from dativo_ingest.odcs.types import DATIVO_TYPES, normalize_type, odcs_logical_type
from dativo_ingest.odcs.versions import SCHEMA_VERSIONS, SUPPORTED_VERSIONS, at_least, server_fits

if TYPE_CHECKING:
    from dativo_ingest.odcs.model import AssetDefinition, Element, SchemaField, SchemaObject

PREFIX = "dativo."
EXPECTATION_MARK = "dativo.expectation"
__all__ = ["SUPPORTED_VERSIONS", "default_contract_id", "from_odcs", "quality_for_version", "to_odcs"]

#: Top-level canonical keys (authoring spelling) with no ODCS home: carried as ``dativo.<key>``.
_DATIVO_ONLY = ("$schema", "source_type", "object", "compliance", "data_quality", "change_management")
#: Top-level ODCS keys copied as they are.
_ODCS_TOP = (
    "tenant",
    "domain",
    "dataProduct",
    "description",
    "tags",
    "servers",
    "support",
    "price",
    "roles",
    "slaDefaultElement",
    "slaProperties",
    "authoritativeDefinitions",
    "contractCreatedTs",
)
_FIELD_KEYS = (
    "name",
    "physicalName",
    "businessName",
    "description",
    "primaryKey",
    "primaryKeyPosition",
    "required",
    "unique",
    "partitioned",
    "partitionKeyPosition",
    "classification",
    "encryptedName",
    "transformSourceObjects",
    "transformLogic",
    "transformDescription",
    "examples",
    "criticalDataElement",
    "logicalTypeOptions",
    "tags",
    "authoritativeDefinitions",
)
_OBJECT_KEYS = (
    "name",
    "physicalName",
    "physicalType",
    "businessName",
    "description",
    "dataGranularityDescription",
    "logicalType",
    "tags",
    "authoritativeDefinitions",
)
#: Element keys ODCS v3.2.0 added, kept as model extras: written in place for v3.2, as ``dativo.<key>``
#: custom properties before it.
_FIELD_KEYS_32 = ("semanticType", "synonyms", "deprecated")
_OBJECT_KEYS_32 = ("context", "synonyms", "deprecated")
#: The model extra holding v3.2 ``enum`` entries that say more than their value (label, description, ...).
ENUM_ENTRIES = "enum_entries"
_MEMBER_KEYS = ("username", "name", "description", "role", "dateIn", "dateOut", "replacedByUsername")
_RETENTION_UNITS = {
    "d": 1,
    "day": 1,
    "days": 1,
    "w": 7,
    "week": 7,
    "weeks": 7,
    "m": 30,
    "month": 30,
    "months": 30,
    "y": 365,
    "yr": 365,
    "year": 365,
    "years": 365,
}


# ===== canonical -> ODCS =============================================================================


def to_odcs(asset: AssetDefinition, api_version: str = "v3.0.2") -> dict[str, Any]:
    """An ODCS document of ``api_version`` for ``asset`` (the model is not modified)."""
    if api_version not in SUPPORTED_VERSIONS:
        raise UsageError(
            f"unsupported ODCS version {api_version!r}; use one of {', '.join(SUPPORTED_VERSIONS)}"
        )
    authoring = asset.to_dict()
    doc: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": asset.kind,
        "id": asset.id or default_contract_id(asset),
        "version": asset.version,
        "status": asset.status,
    }
    if asset.name:
        doc["name"] = asset.name
    for key in _ODCS_TOP:
        if key in authoring:
            doc[key] = authoring[key]
    carried: list[dict[str, Any]] = []
    if "servers" in doc:
        doc["servers"], carried = _servers_for_version(doc["servers"], api_version)
        if not doc["servers"]:
            del doc["servers"]
    if "context" in authoring and at_least(api_version, "v3.2.0"):
        doc["context"] = authoring["context"]
    if asset.description is not None:
        doc["description"] = authoring.get("description", {})
    if asset.team is not None:
        doc["team"] = _team_to_odcs(asset, api_version)
    retention = asset.compliance.retention_days if asset.compliance else None
    if retention is not None:
        doc["slaProperties"] = [
            *doc.get("slaProperties", []),
            {"property": "retention", "value": retention, "unit": "d"},
        ]
    placed, unplaced = _expectation_rules(asset)
    if asset.objects:
        doc["schema"] = [
            _object_to_odcs(obj, api_version, placed if i == 0 else {}) for i, obj in enumerate(asset.objects)
        ]
    custom = list(authoring.get("customProperties", []))
    custom.extend(_dativo_sections(asset, authoring, unplaced, api_version))
    if "context" in authoring and not at_least(api_version, "v3.2.0"):
        custom.append({"property": PREFIX + "context", "value": authoring["context"]})
    if carried:
        custom.append({"property": PREFIX + "servers", "value": carried})
    if asset.id is None:
        custom.append({"property": PREFIX + "generated_id", "value": True})
    if custom:
        doc["customProperties"] = custom
    return doc


def default_contract_id(asset: AssetDefinition) -> str:
    """A stable id for contracts that do not declare one: ``<source_type>-<object>``."""
    parts = [p for p in (asset.source_type, asset.object_name) if p]
    return "-".join(parts) or "contract"


def _servers_for_version(servers: Any, api_version: str) -> tuple[Any, list[dict[str, Any]]]:
    """Servers ``api_version`` can hold, and ``{index, server}`` for those only a newer version can
    (an ``iceberg`` server before v3.2.0); servers no version accepts stay in place (and fail)."""
    if not isinstance(servers, list):
        return servers, []
    kept: list[Any] = []
    carried: list[dict[str, Any]] = []
    for index, server in enumerate(servers):
        if server_fits(server, api_version) or not server_fits(server, SCHEMA_VERSIONS[-1]):
            kept.append(server)
        else:
            carried.append({"index": index, "server": server})
    return kept, carried


def _servers_from_odcs(servers: Any, carried: Any) -> Any:
    """The server list with the servers :func:`_servers_for_version` carried put back in their places."""
    if not isinstance(carried, list):
        return servers
    merged = list(servers) if isinstance(servers, list) else []
    for entry in sorted(
        (e for e in carried if isinstance(e, dict) and isinstance(e.get("index"), int)),
        key=lambda e: e["index"],
    ):
        merged.insert(min(entry["index"], len(merged)), entry.get("server"))
    return merged


def _dativo_sections(
    asset: AssetDefinition, authoring: dict[str, Any], unplaced: list[dict[str, Any]], api_version: str
) -> list[dict[str, Any]]:
    """``customProperties`` entries carrying the sections ODCS has no home for."""
    values: dict[str, Any] = {key: authoring.get(key) for key in _DATIVO_ONLY}
    if asset.compliance is not None:
        values["compliance"] = {
            k: v for k, v in (values["compliance"] or {}).items() if k != "retention_days"
        }
    if asset.data_quality is not None:
        rest = {k: v for k, v in (values["data_quality"] or {}).items() if k != "expectations"}
        values["data_quality"] = {**rest, "expectations": unplaced} if unplaced else rest
    values["team"] = _team_meta(asset, api_version)
    return [{"property": PREFIX + key, "value": value} for key, value in values.items() if value is not None]


def _team_meta(asset: AssetDefinition, api_version: str) -> dict[str, Any] | None:
    """What the ODCS team cannot hold: name and description before v3.1, and keys of the team and of
    its members that ODCS has no field for (kept so converting back gives an equal model)."""
    team = asset.team
    if team is None:
        return None
    meta: dict[str, Any] = {}
    if not at_least(api_version, "v3.1.0"):
        meta.update({k: v for k, v in (("name", team.name), ("description", team.description)) if v})
    if team.model_extra:
        meta["extra"] = team.model_extra
    members = {str(i): m.model_extra for i, m in enumerate(team.roles) if m.model_extra}
    if members:
        meta["member_extra"] = members
    return meta or None


def _team_to_odcs(asset: AssetDefinition, api_version: str) -> Any:
    team = asset.team
    assert team is not None
    members = [m.model_dump(by_alias=True, exclude_defaults=True, mode="json") for m in team.roles]
    members = [{k: m[k] for k in _MEMBER_KEYS if k in m and m[k] is not None} for m in members]
    if team.owner and not any(
        (m.get("role") or "").lower() == "owner" and m.get("username") == team.owner for m in members
    ):
        members.insert(0, {"username": team.owner, "role": "owner"})
    if not at_least(api_version, "v3.1.0"):
        return members
    out: dict[str, Any] = {}
    if team.name:
        out["name"] = team.name
    if team.description:
        out["description"] = team.description
    out["members"] = members
    return out


def _object_to_odcs(
    obj: SchemaObject, api_version: str, placed: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    raw = obj.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    out = {k: raw[k] for k in _OBJECT_KEYS if raw.get(k) not in (None, [], {})}
    out["properties"] = [_field_to_odcs(f, api_version, placed, f.name) for f in obj.properties]
    quality = list(raw.get("quality", [])) + placed.get("", [])
    if quality:
        out["quality"] = [quality_for_version(rule, api_version) for rule in quality]
    custom = list(raw.get("customProperties", [])) + _extras_to_custom(
        obj, out, _OBJECT_KEYS_32 if at_least(api_version, "v3.2.0") else ()
    )
    if custom:
        out["customProperties"] = custom
    if not out["properties"]:
        del out["properties"]
    return out


def _field_to_odcs(
    field: SchemaField, api_version: str, placed: dict[str, list[dict[str, Any]]], path: str
) -> dict[str, Any]:
    raw = field.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    out: dict[str, Any] = {}
    for key in _FIELD_KEYS:
        if raw.get(key) not in (None, [], {}):
            out[key] = raw[key]
    logical = odcs_logical_type(field.type, api_version)
    if logical:
        out["logicalType"] = logical
    physical = field.physical_type or (field.type if field.type and field.type != logical else None)
    if physical:
        out["physicalType"] = physical
    if field.properties:
        out["properties"] = [
            _field_to_odcs(f, api_version, placed, f"{path}.{f.name}") for f in field.properties
        ]
    if field.items is not None:
        out["items"] = _field_to_odcs(field.items, api_version, placed, f"{path}[]")
    quality = list(raw.get("quality", [])) + placed.get(path, [])
    if quality:
        out["quality"] = [quality_for_version(rule, api_version) for rule in quality]
    v32 = at_least(api_version, "v3.2.0")
    options = out.get("logicalTypeOptions")
    entries = _enum_entries(field, options.get("enum")) if v32 and isinstance(options, dict) else None
    skip = (
        (ENUM_ENTRIES,)
        if entries is not None and entries == (field.model_extra or {}).get(ENUM_ENTRIES)
        else ()
    )
    custom = list(raw.get("customProperties", [])) + _extras_to_custom(
        field, out, _FIELD_KEYS_32 if v32 else (), skip
    )
    if isinstance(options, dict) and "enum" in options:  # no enum option in ODCS: v3.2 enum, else dativo.enum
        rest = {k: v for k, v in options.items() if k != "enum"}
        out.pop("logicalTypeOptions")
        if rest:
            out["logicalTypeOptions"] = rest
        if entries is not None:
            out["enum"] = entries
        else:
            custom.append({"property": PREFIX + "enum", "value": options["enum"]})
    derived = _types_from_odcs(out.get("logicalType"), out.get("physicalType"))
    if (derived.get("type"), derived.get("physicalType")) != (field.type, field.physical_type):
        custom.append(
            {"property": PREFIX + "type", "value": field.type}
        )  # logical/physical types cannot carry it
    if custom:
        out["customProperties"] = custom
    return out


_RULE_TO_METRIC = {
    "nullCheck": "nullValues",
    "duplicateCount": "duplicateValues",
    "validValues": "invalidValues",
    "rowCount": "rowCount",
    "missingCheck": "missingValues",
}
_METRIC_TO_RULE = {metric: rule for rule, metric in _RULE_TO_METRIC.items()}


def quality_for_version(rule: Any, api_version: str) -> Any:
    """A library quality rule in the vocabulary of ``api_version`` (v3.0 ``rule`` vs v3.1 ``metric``).

    A v3.0 rule v3.1 has no metric for (``minCheck``, ...) becomes a ``text`` rule that remembers its name
    in ``customProperties`` (``dativo.rule``), so converting back restores it."""
    if not isinstance(rule, dict):
        return rule
    metrics = at_least(api_version, "v3.1.0")
    if rule.get("type") == "text" and not metrics:
        return _library_rule_from_text(rule)
    if rule.get("type", "library") != "library":
        return rule
    out = dict(rule)
    if metrics and "metric" not in out and "rule" in out:
        name = out.pop("rule")
        if name not in _RULE_TO_METRIC:
            rest = {k: v for k, v in out.items() if k not in ("type", "description", "customProperties")}
            custom = [*(out.get("customProperties") or []), {"property": PREFIX + "rule", "value": name}]
            return {
                "type": "text",
                "description": out.get("description") or f"library rule {name}",
                **rest,
                "customProperties": custom,
            }
        out["metric"] = _RULE_TO_METRIC[name]
        out["type"] = "library"
        if not any(key.startswith("mustBe") or key.startswith("mustNot") for key in out):
            out["mustBe"] = 0  # v3.1 needs an operator; a v3.0 check without one means "none found"
        if "validValues" in out:
            out["arguments"] = {**out.get("arguments", {}), "validValues": out.pop("validValues")}
    elif not metrics and "rule" not in out and "metric" in out:
        out["rule"] = _METRIC_TO_RULE.get(out.pop("metric"), "custom")
        arguments = dict(out.pop("arguments", None) or {})  # never the document's own dict
        if "validValues" in arguments:
            out["validValues"] = arguments.pop("validValues")
        if arguments:
            out["arguments"] = arguments
    return out


def _library_rule_from_text(rule: dict[str, Any]) -> dict[str, Any]:
    """The v3.0 library rule a ``text`` rule stands for (see :func:`quality_for_version`), else ``rule``."""
    custom = rule.get("customProperties") or []
    name = next((c.get("value") for c in custom if c.get("property") == PREFIX + "rule"), None)
    if not name:
        return rule
    out = {k: v for k, v in rule.items() if k not in ("type", "customProperties")}
    out = {"type": "library", "rule": name, **out}
    if out.get("description") == f"library rule {name}":
        del out["description"]
    rest = [c for c in custom if c.get("property") != PREFIX + "rule"]
    if rest:
        out["customProperties"] = rest
    return out


def _canonical_quality(rule: Any) -> Any:
    """Quality rules are kept in the v3.0 vocabulary (``rule``), ``type: library`` implied."""
    out = quality_for_version(rule, "v3.0.2")
    if isinstance(out, dict) and out.get("type") == "library":
        out = {k: v for k, v in out.items() if k != "type"}
    return out


def _enum_entries(field: SchemaField, values: Any) -> list[dict[str, Any]] | None:
    """The v3.2 ``enum`` entries for a field's allowed ``values`` (its kept entries when they match), or
    None when v3.2 cannot hold them (not a list of distinct scalars)."""
    if not isinstance(values, list) or not values:
        return None
    if any(isinstance(v, (dict, list)) for v in values) or len({json.dumps(v) for v in values}) != len(
        values
    ):
        return None
    kept = (field.model_extra or {}).get(ENUM_ENTRIES)
    if isinstance(kept, list) and [e.get("value") if isinstance(e, dict) else e for e in kept] == values:
        return kept
    return [{"value": v} for v in values]


def _extras_to_custom(
    element: Element, out: dict[str, Any], native: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Keys the element kept that ODCS has no field for, as ``dativo.<key>`` custom properties; keys in
    ``native`` go into ``out`` as they are, keys in ``skip`` are written elsewhere."""
    custom = []
    for key, value in (element.model_extra or {}).items():
        if key in native:
            out[key] = value
        elif key not in skip:
            custom.append({"property": PREFIX + key, "value": value})
    return custom


def _expectation_rules(
    asset: AssetDefinition,
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Quality rules per field path ("" = object level) and expectations with no home in the schema."""
    placed: dict[str, list[dict[str, Any]]] = {}
    unplaced: list[dict[str, Any]] = []
    paths = {path for path, _ in asset.iter_fields()}
    checks = contract_checks(asset)
    for index, expectation in enumerate(asset.expectations):
        body = expectation.dump()
        written = checks.written_at(f"data_quality.expectations[{index}]")
        rule = _quality_rule(written[0] if written else None, expectation.type)
        rule.setdefault("customProperties", []).append(
            {"property": EXPECTATION_MARK, "value": {"index": index, **body}}
        )
        if not asset.objects:
            unplaced.append({"index": index, **body})
        elif expectation.column in paths:
            placed.setdefault(expectation.column, []).append(rule)
        else:
            rule.setdefault("customProperties", []).append(
                {"property": "column", "value": expectation.column}
            )
            placed.setdefault("", []).append(rule)
    return placed, unplaced


def _quality_rule(check: Check | None, written: str) -> dict[str, Any]:
    """The ODCS rule closest to an expectation's check (a text rule where ODCS has no library metric)."""
    if isinstance(check, NotNull):
        return {"type": "library", "rule": "nullCheck", "mustBe": 0, "dimension": "completeness"}
    if isinstance(check, Unique):
        return {"type": "library", "rule": "duplicateCount", "mustBe": 0, "dimension": "uniqueness"}
    if isinstance(check, AcceptedValues):
        values = list(check.values)
        return {"type": "library", "rule": "validValues", "validValues": values, "dimension": "conformity"}
    if isinstance(check, RowCount):
        return {"type": "library", "rule": "rowCount", "dimension": "completeness", **_operators(check)}
    if isinstance(check, SqlCheck):
        return {"type": "sql", "query": check.query, **_operators(check)}
    return {"type": "text", "description": f"dativo expectation {written}"}


def _operators(check: RowCount | SqlCheck) -> dict[str, Any]:
    return {op: list(value) if isinstance(value, tuple) else value for op, value in check.threshold}


# ===== ODCS -> canonical =============================================================================


def from_odcs(doc: dict[str, Any]) -> dict[str, Any]:
    """Canonical constructor arguments for an ODCS document (the input is not modified)."""
    out: dict[str, Any] = {
        k: doc[k]
        for k in ("apiVersion", "kind", "id", "name", "version", "status", "context", *_ODCS_TOP)
        if k in doc
    }
    custom, dativo = _split_custom(doc.get("customProperties"))
    if custom:
        out["customProperties"] = custom
    for key, value in dativo.items():
        if key in _DATIVO_ONLY:
            out[key] = value
    if "context" in dativo and "context" not in out:
        out["context"] = dativo["context"]
    if "servers" in dativo:
        out["servers"] = _servers_from_odcs(out.get("servers"), dativo["servers"])
    if dativo.get("generated_id"):
        out.pop("id", None)  # ODCS requires an id; the model had none
    if "team" in doc:
        out["team"] = _team_from_odcs(doc["team"], dativo.get("team"))
    sla, retention = _split_retention(doc.get("slaProperties"))
    if retention is not None:
        out["compliance"] = {**(out.get("compliance") or {}), "retention_days": retention}
    if "slaProperties" in out:
        out["slaProperties"] = sla
    expectations: list[dict[str, Any]] = []
    if isinstance(doc.get("schema"), list):
        out["objects"] = [_object_from_odcs(o, expectations) for o in doc["schema"]]
    data_quality = dict(out.get("data_quality") or {}) if "data_quality" in out else None
    unplaced = (data_quality or {}).pop("expectations", [])
    expectations.extend(unplaced if isinstance(unplaced, list) else [])
    if expectations:
        data_quality = data_quality or {}
        data_quality["expectations"] = [
            {k: v for k, v in e.items() if k != "index"}
            for e in sorted(expectations, key=lambda e: e.get("index", 0))
        ]
    if data_quality is not None:
        out["data_quality"] = data_quality
    return out


def _split_custom(entries: Any) -> tuple[list[Any], dict[str, Any]]:
    """Plain custom properties, and the ``dativo.*`` ones as a dict keyed without the prefix."""
    if not isinstance(entries, list):
        return ([] if entries is None else entries), {}
    plain, dativo = [], {}
    for entry in entries:
        name = entry.get("property") if isinstance(entry, dict) else None
        if isinstance(name, str) and name.startswith(PREFIX) and name != EXPECTATION_MARK:
            dativo[name[len(PREFIX) :]] = entry.get("value")
        else:
            plain.append(entry)
    return plain, dativo


def _split_retention(entries: Any) -> tuple[Any, int | None]:
    """``slaProperties`` without a plain ``retention`` entry, and that retention in days."""
    if not isinstance(entries, list):
        return entries, None
    for position, entry in enumerate(entries):
        if (
            isinstance(entry, dict)
            and entry.get("property") == "retention"
            and set(entry) <= {"property", "value", "unit"}
            and isinstance(entry.get("value"), int)
            and not isinstance(entry.get("value"), bool)
            and str(entry.get("unit", "d")).lower() in _RETENTION_UNITS
        ):
            days = entry["value"] * _RETENTION_UNITS[str(entry.get("unit", "d")).lower()]
            return entries[:position] + entries[position + 1 :], days
    return entries, None


def _team_from_odcs(team: Any, meta: Any) -> Any:
    meta = dict(meta) if isinstance(meta, dict) else {}
    extra, member_extra = meta.pop("extra", None) or {}, meta.pop("member_extra", None) or {}
    if isinstance(team, dict) and "members" in team:
        members, head = team.get("members") or [], {k: v for k, v in team.items() if k != "members"}
    elif isinstance(team, list):
        members, head = team, meta
    else:
        return team
    head.update(extra)
    owner, roles = None, []
    for member in members:
        if not isinstance(member, dict):
            roles.append(member)
            continue
        is_owner = str(member.get("role", "")).lower() == "owner" and owner is None and member.get("username")
        if is_owner:
            owner = member["username"]
            if set(member) <= {"username", "role"}:
                continue
        roles.append(dict(member))
    for index, keys in member_extra.items():
        if str(index).isdigit() and int(index) < len(roles) and isinstance(roles[int(index)], dict):
            roles[int(index)].update(keys)
    return {**head, "owner": owner, "roles": roles} if owner else {**head, "roles": roles}


def _object_from_odcs(obj: Any, expectations: list[dict[str, Any]]) -> Any:
    if not isinstance(obj, dict):
        return obj
    out = {k: v for k, v in obj.items() if k not in ("properties", "quality", "customProperties")}
    custom, extras = _split_custom(obj.get("customProperties"))
    if custom:
        out["customProperties"] = custom
    out.update(extras)
    quality = _take_expectations(obj.get("quality"), expectations)
    if quality is not None:
        out["quality"] = quality
    if "properties" in obj:
        out["properties"] = [_field_from_odcs(p, expectations) for p in obj["properties"] or []]
    return out


def _field_from_odcs(prop: Any, expectations: list[dict[str, Any]]) -> Any:
    if not isinstance(prop, dict):
        return prop
    out = {
        k: v
        for k, v in prop.items()
        if k not in ("properties", "items", "quality", "customProperties", "logicalType", "physicalType")
    }
    native_enum = out.pop("enum", None)
    custom, extras = _split_custom(prop.get("customProperties"))
    if "type" in prop or "type" in extras:  # canonical (our own output), or a type ODCS could not express
        out["type"] = prop.get("type", extras.get("type"))
        if "physicalType" in prop:
            out["physicalType"] = prop["physicalType"]
    else:
        out.update(_types_from_odcs(prop.get("logicalType"), prop.get("physicalType")))
    if custom:
        out["customProperties"] = custom
    out.update(extras)
    if "enum" not in out and native_enum is not None:  # v3.2: entries with a value (and a label, ...)
        out["enum"] = _enum_values(native_enum)
        if out["enum"] is not native_enum and any(set(e) != {"value"} for e in native_enum):
            out[ENUM_ENTRIES] = native_enum
    if "enum" in out:
        out["logicalTypeOptions"] = {**(out.get("logicalTypeOptions") or {}), "enum": out.pop("enum")}
    quality = _take_expectations(prop.get("quality"), expectations)
    if quality is not None:
        out["quality"] = quality
    if "properties" in prop:
        out["properties"] = [_field_from_odcs(p, expectations) for p in prop["properties"] or []]
    if isinstance(prop.get("items"), dict):
        out["items"] = _field_from_odcs({"name": "", **prop["items"]}, expectations)
    return out


def _enum_values(entries: Any) -> Any:
    """The values of v3.2 ``enum`` entries (``[{value: a}, ...]`` -> ``[a, ...]``); other shapes as given."""
    if isinstance(entries, list) and entries and all(isinstance(e, dict) and "value" in e for e in entries):
        return [e["value"] for e in entries]
    return entries


def _types_from_odcs(logical: Any, physical: Any) -> dict[str, Any]:
    """dativo ``type`` (and ``physicalType`` when it says more) from ODCS logical/physical types.

    A physical type that is itself a dativo type refining the logical one (``date`` + ``timestamp``)
    becomes the dativo type; any other physical type is kept as written.
    """
    implied = normalize_type(physical) if isinstance(physical, str) else None
    if implied not in DATIVO_TYPES:
        implied = None
    if implied and (
        logical is None or logical in (odcs_logical_type(implied), odcs_logical_type(implied, "v3.1"))
    ):
        marker = physical == implied and odcs_logical_type(implied) != implied
        return {"type": implied} if marker else {"type": implied, "physicalType": physical}
    out: dict[str, Any] = {}
    if logical is not None:
        out["type"] = logical
    if physical is not None:
        out["physicalType"] = physical
    return out


def _take_expectations(quality: Any, expectations: list[dict[str, Any]]) -> Any:
    """Quality rules minus those that carry a dativo expectation (collected into ``expectations``)."""
    if not isinstance(quality, list):
        return quality
    kept = []
    for rule in quality:
        mark = None
        if isinstance(rule, dict) and isinstance(rule.get("customProperties"), list):
            mark = next(
                (
                    c.get("value")
                    for c in rule["customProperties"]
                    if isinstance(c, dict) and c.get("property") == EXPECTATION_MARK
                ),
                None,
            )
        if isinstance(mark, dict):
            expectations.append(dict(mark))
        else:
            kept.append(_canonical_quality(rule))
    return kept
