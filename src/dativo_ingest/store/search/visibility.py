"""What a requester may see: SQL conditions on units and documents, and the FTS5 visibility tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, literal, or_

from dativo_ingest.store.search.tables import search_documents


@dataclass(frozen=True)
class Visibility:
    """What one requester may see: restricted labels, how restricted fields show, tenant scope, deny mode."""

    restricted: frozenset[str] = frozenset()
    mode: str = "redact"  # redact | hide | deny
    tenants: frozenset[str] | None = None


def like_escape(value: str) -> str:
    """``value`` matched literally by ``LIKE ... ESCAPE '\\'``."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def free_of(column: Any, restricted: frozenset[str]) -> list[Any]:
    """Conditions: the ``|A|B|`` label ``column`` holds none of the ``restricted`` labels."""
    return [~column.like(f"%|{like_escape(r)}|%", escape="\\") for r in sorted(restricted)]


def visible_unit(table: Any, vis: Visibility) -> Any:
    """Condition: a portable text unit of ``table`` the requester may see."""
    if not vis.restricted:
        return literal(True)
    clean = and_(*free_of(table.c.labels, vis.restricted))
    if vis.mode == "redact":
        return or_(table.c.part != "detail", clean)
    return or_(table.c.part.in_(("asset", "about")), clean)


def visible_document(vis: Visibility) -> list[Any]:
    """Conditions on ``search_documents``: the requester's tenants, and no restricted label in deny mode."""
    d = search_documents.c
    clauses = []
    if vis.tenants is not None:
        clauses.append(or_(d.tenant.is_(None), d.tenant.in_(sorted(vis.tenants))))
    if vis.mode == "deny" and vis.restricted:
        clauses.extend(free_of(d.classes, vis.restricted))
    return clauses


def label_token(label: str) -> str:
    """A label as one FTS token (``PII`` -> ``lblpii``); labels differing only in punctuation collide,
    which can only hide more, never less."""
    return "lbl" + re.sub(r"[\W_]+", "", label.lower())


def vis_tokens(part: str, labels: str) -> str:
    """``p<part>`` plus one token per label combined with the part (``dlblpii`` for a PII detail unit),
    so that the units a requester may not see form small doclists the query subtracts cheaply."""
    return " ".join([f"p{part}", *(part[0] + label_token(lab) for lab in labels.split("|") if lab)])


def hidden_clause(vis: Visibility) -> str:
    """`` NOT (vis : ...)`` subtracting the units the requester may not see, or ``""``."""
    if not vis.restricted:
        return ""
    tokens = sorted({label_token(r) for r in vis.restricted})
    parts = "d" if vis.mode == "redact" else "dn"  # redact shows restricted field names, hide does not
    return " NOT (vis : (" + " OR ".join(p + t for p in parts for t in tokens) + "))"
