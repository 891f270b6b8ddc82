"""Where each page lives: absolute URLs on the server, relative file paths in the static site."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import quote, urlencode


def _seg(value: str) -> str:
    return quote(value, safe="")


class Links:
    """URLs of the served catalog."""

    static_site = False

    def __init__(self, root: str = "/") -> None:
        self.root = root

    def asset(self, path: str) -> str:
        return f"{self.root}static/{path}"

    def index(self, **params: Any) -> str:
        query = urlencode([(k, v) for k, vs in params.items() for v in _listed(vs) if v not in (None, "")])
        return f"{self.root}" + (f"?{query}" if query else "")

    def contract(self, source_type: str, object_name: str, version: str | None = None) -> str:
        url = f"{self.root}contracts/{_seg(source_type)}/{_seg(object_name)}"
        return url + (f"?version={quote(version)}" if version else "")

    def diff(self, source_type: str, object_name: str, old: str, new: str) -> str:
        base = f"{self.root}contracts/{_seg(source_type)}/{_seg(object_name)}/diff"
        return f"{base}?{urlencode({'from': old, 'to': new})}"

    def diff_form(self, source_type: str, object_name: str) -> str:
        return f"{self.root}contracts/{_seg(source_type)}/{_seg(object_name)}/diff"

    def lineage(self, node_id: str, up: int | None = None, down: int | None = None) -> str:
        params: dict[str, Any] = {"node": node_id}
        if up is not None:
            params["up"] = up
        if down is not None:
            params["down"] = down
        return f"{self.root}lineage?{urlencode(params)}"

    def lineage_of(self, source_type: str, object_name: str) -> str:
        return f"{self.root}lineage/{_seg(source_type)}/{_seg(object_name)}"

    def graph_json(self) -> str:
        return f"{self.root}lineage/graph.json"

    def runs(self, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return f"{self.root}runs" + (f"?{query}" if query else "")

    def audit(self) -> str:
        return f"{self.root}audit"


class StaticLinks(Links):
    """Relative links between the files of a static site; ``root`` leads from the page to the site root."""

    static_site = True

    def index(self, **params: Any) -> str:
        page = params.get("page")
        return f"{self.root}index.html" if not page or int(page) <= 1 else f"{self.root}page-{int(page)}.html"

    def contract(self, source_type: str, object_name: str, version: str | None = None) -> str:
        name = f"v{version}.html" if version else "index.html"
        return f"{self.root}contracts/{file_segment(source_type)}/{file_segment(object_name)}/{name}"

    def diff(self, source_type: str, object_name: str, old: str, new: str) -> str:
        folder = f"{self.root}contracts/{file_segment(source_type)}/{file_segment(object_name)}"
        return f"{folder}/diff-{old}..{new}.html"

    def lineage_of(self, source_type: str, object_name: str) -> str:
        return f"{self.root}lineage/{file_segment(source_type)}/{file_segment(object_name)}.html"

    def runs(self, **params: Any) -> str:
        return f"{self.root}runs.html"


def file_segment(value: str) -> str:
    """A path segment safe as a file name and as a relative link: letters, digits and ``-_.@`` kept,
    anything else replaced, with a short hash of the original so that distinct names stay distinct."""
    slug = re.sub(r"[^A-Za-z0-9_.@-]", "_", value).lstrip(".") or "_"
    if slug == value:
        return slug
    return f"{slug}-{hashlib.sha256(value.encode('utf-8')).hexdigest()[:8]}"


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]
