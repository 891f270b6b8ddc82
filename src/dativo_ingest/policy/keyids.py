"""API key ids: a key is ``dtv_<key id>_<secret>``; its id may be recorded (the audit log names the key
a refused request presented), its secret never.

Core (no server imports): :mod:`dativo_ingest.policy.guard` records key ids and
:mod:`dativo_ingest.server.keys` issues and verifies keys with the same format.
"""

from __future__ import annotations

import re

PREFIX = "dtv"
_KEY_ID = re.compile(r"^[0-9a-f]{1,32}$")


def key_id_of(presented: str | None) -> str | None:
    """The key id of a presented key (``dtv_<id>_...``) when it parses as one; never the secret."""
    if not presented or not isinstance(presented, str):
        return None
    parts = presented.split("_", 2)
    if len(parts) == 3 and parts[0] == PREFIX and _KEY_ID.match(parts[1]):
        return parts[1]
    return None
