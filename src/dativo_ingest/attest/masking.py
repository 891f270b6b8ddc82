"""Failed-row samples as a requester may see them: restricted columns masked by the policy layer.

The treatment of each column is the policy's own (:func:`dativo_ingest.policy.fields.column_treatments`,
the one the SQL rewrite uses): ``redact`` replaces the value with ``withheld by policy``, ``hide`` drops
the column. A column the contract does not know (a SQL rule's own output) is masked whenever anything
is restricted for the requester (fail closed). Elevated requesters see the rows as they are.
"""

from __future__ import annotations

from typing import Any

from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.fields import column_treatments
from dativo_ingest.policy.views import WITHHELD


def mask_rows(
    rows: list[dict[str, Any]], asset: AssetDefinition, policy: PolicyConfig, requester: str
) -> list[dict[str, Any]]:
    """``rows`` with every restricted value withheld for ``requester``."""
    if not rows:
        return rows
    treatments = column_treatments(asset, policy, requester)
    names = {f.name: f.name for f in asset.fields}
    names.update({f.physical_name: f.name for f in asset.fields if f.physical_name})
    names_lower = {k.lower(): v for k, v in names.items()}
    anything = any(t != "show" for t in treatments.values())
    strict = "hide" if policy.on_restricted == "hide" else "redact"
    masked = []
    for row in rows:
        out: dict[str, Any] = {}
        for key, value in row.items():
            logical = names.get(key) or names_lower.get(str(key).lower())
            how = treatments.get(logical, "show") if logical else (strict if anything else "show")
            if how == "show":
                out[key] = value
            elif how == "redact":
                out[key] = WITHHELD
        masked.append(out)
    return masked
