"""Contract paths as each dialect spells them (``schema[1].type`` in the dativo format,
``schema[0].properties[1].logicalType`` in ODCS). Pure string work, imported by every odcs module."""

from __future__ import annotations

import re

_FIELD_PATH = r"schema\[\d+\](?:\.properties\[\d+\]|\.items)*"
#: Model paths whose ODCS home has another name (retention lives in ``slaProperties``).
_ODCS_HOMES = {"team.owner": "team", "compliance.retention_days": "slaProperties"}


def in_dialect(path: str, *, odcs: bool, single: bool) -> str:
    """A model path (``schema[0].properties[1].type``) as the document's own dialect spells it.

    ODCS: ``schema[0].properties[1].logicalType``; the dativo format lists the fields of a single object
    flat: ``schema[1].type``.
    """
    if odcs:
        path = re.sub(rf"^({_FIELD_PATH}\.(?:properties\[\d+\]|items))\.type$", r"\1.logicalType", path)
        return _ODCS_HOMES.get(path, path)
    if single:
        path = re.sub(r"^schema\[0\]\.properties\[(\d+)\]", r"schema[\1]", path)
    return re.sub(rf"^({_FIELD_PATH})\.logicalType$", r"\1.type", path)
