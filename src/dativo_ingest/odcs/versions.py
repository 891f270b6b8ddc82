"""The ODCS versions dativo reads and writes, and the vendored official JSON Schema of each.

``v3.0.x`` documents are checked against the v3.0.2 schema, ``v3.1.x`` against v3.1.0 and ``v3.2.x``
against v3.2.0 (see ``schemas/NOTICE.md`` for where each schema comes from).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs

#: ``apiVersion`` values :func:`dativo_ingest.odcs.convert.to_odcs` writes.
SUPPORTED_VERSIONS = ("v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0", "v3.2.0")
#: The versions whose official JSON Schema is vendored, oldest first.
SCHEMA_VERSIONS = ("v3.0.2", "v3.1.0", "v3.2.0")

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def version_tuple(api_version: str) -> tuple[int, int, int]:
    """``"v3.1.0"`` -> ``(3, 1, 0)``; a value that is not a version sorts first (``(0, 0, 0)``)."""
    match = _VERSION.match(api_version or "")
    if match is None:
        return (0, 0, 0)
    major, minor, patch = (int(part) if part else 0 for part in match.groups())
    return (major, minor, patch)


def at_least(api_version: str, minimum: str) -> bool:
    """True when ``api_version`` is ``minimum`` or newer (``at_least("v3.2.0", "v3.1.0")``)."""
    return version_tuple(api_version) >= version_tuple(minimum)


def schema_version(api_version: str) -> str:
    """The vendored schema a document of ``api_version`` is checked against (same minor, else nearest)."""
    major, minor, _ = version_tuple(api_version)
    fitting = [v for v in SCHEMA_VERSIONS if version_tuple(v)[:2] <= (major, minor)]
    return fitting[-1] if fitting else SCHEMA_VERSIONS[0]


@cache
def official_schema(version: str) -> dict[str, Any]:
    """The official JSON Schema of a vendored version (``v3.0.2``, ``v3.1.0`` or ``v3.2.0``)."""
    name = f"odcs-json-schema-{schema_version(version)}.json"
    text = resources.files("dativo_ingest.odcs").joinpath("schemas", name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def validator(version: str) -> jsonschema_rs.Validator:
    """The official schema compiled with jsonschema-rs (a 10,000-property contract: ~30 ms, not ~6 s)."""
    return jsonschema_rs.Draft201909Validator(official_schema(version), validate_formats=True)


@cache
def _server_validator(version: str) -> jsonschema_rs.Validator:
    schema = official_schema(version)
    sub = {"$schema": schema["$schema"], "$ref": "#/$defs/Server", "$defs": schema["$defs"]}
    return jsonschema_rs.Draft201909Validator(sub, validate_formats=True)


def server_fits(server: Any, version: str) -> bool:
    """True when ``server`` is a valid server entry of ``version`` (``iceberg`` needs v3.2.0, ...)."""
    return bool(_server_validator(version).is_valid(server))
