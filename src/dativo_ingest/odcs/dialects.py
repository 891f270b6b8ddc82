"""Reading both authoring dialects into the canonical model, and writing the dativo format back.

A document is official ODCS when its ``schema`` holds schema objects (no ``type`` key, usually
``properties``) or its ``team`` is an ODCS team; otherwise it is the dativo authoring format with a
flat list of typed fields. Keyword construction goes through the same path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from dativo_ingest.errors import ContractValidationError
from dativo_ingest.odcs.convert import from_odcs
from dativo_ingest.odcs.paths import in_dialect

if TYPE_CHECKING:
    from dativo_ingest.odcs.model import AssetDefinition

#: Name of the schema object that holds a flat dativo field list when neither ``object`` nor ``name`` is set.
DEFAULT_OBJECT_NAME = "default"


#: Top-level keys only the dativo format has (ODCS carries them as ``dativo.*`` custom properties).
_DATIVO_SECTIONS = ("source_type", "object", "compliance", "data_quality", "change_management")


def is_odcs_document(data: dict[str, Any]) -> bool:
    """True when ``data`` is shaped like an official ODCS document rather than the dativo format (a
    document with dativo-only sections is the dativo format, whatever shape its schema has)."""
    if any(key in data for key in _DATIVO_SECTIONS):
        return False
    schema = data.get("schema")
    if isinstance(schema, list) and schema and all(isinstance(item, dict) for item in schema):
        return not any("type" in item for item in schema)
    team = data.get("team")
    return isinstance(team, list) or (isinstance(team, dict) and "members" in team)


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Canonical constructor arguments from either dialect (input is never mutated)."""
    if is_odcs_document(data):
        return from_odcs(data)
    return _from_authoring(data)


def build(cls: type[AssetDefinition], data: Any, *, source: str | None = None) -> AssetDefinition:
    """Validate ``data`` into ``cls``; pydantic errors become one :class:`ContractValidationError`."""
    if not isinstance(data, dict):
        raise ContractValidationError(f"a contract must be a mapping, got {type(data).__name__}", path=source)
    with contract_errors(data, source):
        asset = cls.model_validate(data)
    asset._odcs_source = is_odcs_document(data)
    return asset


@contextmanager
def contract_errors(data: dict[str, Any], source: str | None = None) -> Iterator[None]:
    """Turn model errors into one :class:`ContractValidationError` with paths in the document's dialect."""
    try:
        yield
    except ContractValidationError as exc:  # raised by a nested construction, which knew no file
        exc.path = exc.path or source
        raise
    except ValidationError as exc:
        odcs = is_odcs_document(data)
        problems = [_describe(error, odcs) for error in exc.errors()]
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ContractValidationError(
            f"{first['message']}{more}", path=source, field=first["path"] or None, errors=problems
        ) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ContractValidationError(f"malformed contract: {exc}", path=source) from None


def _describe(error: ErrorDetails, odcs: bool) -> dict[str, str]:
    path = in_dialect(_path_text(error.get("loc", ())), odcs=odcs, single=True)
    if error.get("type") == "extra_forbidden":
        return {"path": path, "message": f"unknown top-level key '{path}'"}
    return {"path": path, "message": f"{error.get('msg', 'invalid value')}"}


def _path_text(loc: tuple[Any, ...]) -> str:
    """``("objects", 0, "properties", 1, "type")`` -> ``schema[0].properties[1].type``."""
    parts: list[str] = []
    items = ["schema", *loc[1:]] if loc and loc[0] == "objects" else list(loc)
    for part in items:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in ("function-after", "function-before"):
            continue
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


# ----- dativo authoring format -> canonical ---------------------------------------------------------


def _from_authoring(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "schema" in out:
        schema = out.pop("schema")
        if (
            isinstance(schema, list)
            and schema
            and all(isinstance(i, dict) and "type" not in i for i in schema)
        ):
            out["objects"] = schema
        else:
            name = out.get("object") or out.get("name") or DEFAULT_OBJECT_NAME
            out["objects"] = [{"name": name, "properties": _fields_from_authoring(schema, "schema")}]
    if isinstance(out.get("team"), dict):
        out["team"] = _team_from_authoring(out["team"])
    if isinstance(out.get("description"), str):
        out["description"] = {"purpose": out["description"]}
    return out


#: Constraints a dativo field may carry directly; their model (and ODCS) home is ``logicalTypeOptions``.
FIELD_CONSTRAINTS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "enum",
)


def _fields_from_authoring(fields: Any, path: str) -> Any:
    """Fields with constraints written on them (``maximum: 100``) moved into ``logicalTypeOptions``."""
    if not isinstance(fields, list):
        return fields
    return [_field_from_authoring(f, f"{path}[{i}]") for i, f in enumerate(fields)]


def _field_from_authoring(field: Any, path: str) -> Any:
    if not isinstance(field, dict):
        return field
    out = {k: v for k, v in field.items() if k not in FIELD_CONSTRAINTS}
    given = {k: field[k] for k in FIELD_CONSTRAINTS if k in field}
    if given:
        options = out.get("logicalTypeOptions")
        options = dict(options) if isinstance(options, dict) else {}
        for key, value in given.items():
            if key in options and options[key] != value:
                raise ContractValidationError(
                    f"{key} {value!r} conflicts with logicalTypeOptions.{key} {options[key]!r}",
                    field=f"{path}.{key}",
                )
            options[key] = value
        out["logicalTypeOptions"] = options
    if "properties" in out:
        out["properties"] = _fields_from_authoring(out["properties"], f"{path}.properties")
    if isinstance(out.get("items"), dict):
        out["items"] = _field_from_authoring(out["items"], f"{path}.items")
    return out


def _team_from_authoring(team: dict[str, Any]) -> dict[str, Any]:
    roles = team.get("roles")
    if not isinstance(roles, list):
        return team
    return {**team, "roles": [_role_from_authoring(r) for r in roles]}


def _role_from_authoring(role: Any) -> Any:
    """A dativo role entry ``{name: Data Steward, email, responsibility}`` names the role in ``name``."""
    if not isinstance(role, dict) or "role" in role:
        return role
    entry = dict(role)
    if "name" in entry:
        entry["role"] = entry.pop("name")
    if "member_name" in entry:
        entry["name"] = entry.pop("member_name")
    return entry


# ----- canonical -> dativo authoring format ---------------------------------------------------------

_ALWAYS = ("apiVersion", "kind", "id", "name", "version", "status")


def to_authoring(asset: AssetDefinition) -> dict[str, Any]:
    """The dativo authoring document for ``asset`` (deterministic key order)."""
    body = prune(asset.model_dump(by_alias=True, exclude_defaults=True, mode="json"))
    for name, info in type(asset).model_fields.items():
        key = info.alias or name
        if isinstance(getattr(asset, name), BaseModel) and key not in body:
            body[key] = {}  # an empty section stays a section
    head: dict[str, Any] = {}
    if asset.schema_uri:
        head["$schema"] = body.pop("$schema")
    for key in _ALWAYS:
        value = getattr(asset, {"apiVersion": "api_version"}.get(key, key))
        if value is not None:
            head[key] = value
            body.pop(key, None)
    objects = body.pop("objects", [])
    if "team" in body:
        body["team"] = _team_to_authoring(body["team"])
    if _is_flat(asset, objects):
        body["schema"] = objects[0].get("properties", [])
    elif objects:
        body["schema"] = objects
    return {**head, **body}


def _is_flat(asset: AssetDefinition, objects: list[dict[str, Any]]) -> bool:
    """A single object that only names the contract's object can be written as a flat field list."""
    if len(objects) != 1 or set(objects[0]) - {"name", "properties"}:
        return False
    return bool(objects[0]["name"] == (asset.object or asset.name or DEFAULT_OBJECT_NAME))


def _team_to_authoring(team: dict[str, Any]) -> dict[str, Any]:
    roles = []
    for member in team.get("roles", []):
        entry: dict[str, Any] = {}
        if "role" in member:
            entry["name"] = member["role"]
        if "username" in member:
            entry["email"] = member["username"]
        if "description" in member:
            entry["responsibility"] = member["description"]
        if "name" in member:
            entry["member_name"] = member["name"]
        entry.update(
            {k: v for k, v in member.items() if k not in {"role", "username", "description", "name"}}
        )
        roles.append(entry)
    return {**team, "roles": roles} if roles else team


def prune(value: Any) -> Any:
    """Drop None, empty lists and empty dicts recursively (authoring output stays minimal)."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value
