"""Jinja2 rendering of the catalog pages (autoescaped: nothing user-written reaches a page unescaped)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, Environment, FileSystemLoader
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

DASH = "\u2013"  # an en dash: "no value"

BADGES = {
    "PII": "danger",
    "SENSITIVE": "warn",
    "CONFIDENTIAL": "warn",
    "RESTRICTED": "danger",
    "PUBLIC": "ok",
    "INTERNAL": "info",
    "active": "ok",
    "draft": "info",
    "deprecated": "warn",
    "retired": "muted",
    "breaking": "danger",
    "non-breaking": "ok",
    "metadata": "info",
    "none": "muted",
    "initial": "info",
    "major": "danger",
    "minor": "ok",
    "patch": "info",
    "success": "ok",
    "complete": "ok",
    "failed": "danger",
    "fail": "danger",
    "error": "danger",
    "running": "info",
    "allowed": "ok",
    "denied": "danger",
    "not_found": "muted",
    "unauthenticated": "warn",
    "invalid": "warn",
    "pass": "ok",
    "passed": "ok",
    "warn": "warn",
    "warning": "warn",
    "warned": "warn",
    "skipped": "muted",
}


def badge_class(value: Any) -> str:
    text = str(value)
    return BADGES.get(text, BADGES.get(text.upper(), BADGES.get(text.lower(), "muted")))


def money(value: Any) -> str:
    if value is None:
        return DASH
    number = float(value)
    if number == 0:
        return "$0"
    if abs(number) < 0.01:
        return f"${number:.6f}".rstrip("0")
    return f"${number:,.2f}"


def duration(value: Any) -> str:
    if value is None:
        return DASH
    seconds = float(value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def number(value: Any) -> str:
    return DASH if value is None else f"{int(value):,}"


def stamp(value: Any) -> str:
    """An ISO timestamp shown to the minute, UTC."""
    if not value:
        return DASH
    text = str(value).replace("T", " ")
    return text[:16] + " UTC" if len(text) >= 16 else text


def to_json(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` escaped so that no
    value can close the script element."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # escaped above for the one context it is used in


PARAMS = {
    "classification": "classification",
    "owner": "owner",
    "domain": "domain",
    "tags": "tag",
    "status": "status",
}


def index_url(
    links: Any, result: Any, facet: str | None = None, value: str | None = None, page: int = 1
) -> str:
    """The index with ``result``'s query and filters, ``value`` toggled in ``facet``, at ``page``."""
    filters = {k: list(v) for k, v in result.filters.items()}
    if facet is not None and value is not None:
        chosen = filters.setdefault(facet, [])
        if value in chosen:
            chosen.remove(value)
        else:
            chosen.append(value)
    params: dict[str, Any] = {"q": result.query or None}
    for name, param in PARAMS.items():
        if filters.get(name):
            params[param] = sorted(filters[name])
    if page > 1:
        params["page"] = page
    return str(links.index(**params))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["index_url"] = index_url
    env.filters.update(
        badge=badge_class, money=money, duration=duration, number=number, stamp=stamp, tojson_safe=to_json
    )
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
