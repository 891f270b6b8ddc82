"""``dativo catalog build``: the catalog's pages as a static site, rendered for one requester.

The same templates as the served catalog, with relative links, so the folder opens from disk or any
static host (and offline: every script and style sheet is in ``static/``). Search and facets run in the
browser over ``search-index.js`` (``search-index.json`` holds the same index for other tools). Pages
hold what the requester may see and nothing else: no API key, no session, no server path. The output
is deterministic: the same registry, lineage, runs and policy give the same bytes.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dativo_ingest.catalog_pages import CatalogPages
from dativo_ingest.catalog_web.app import with_links
from dativo_ingest.catalog_web.links import StaticLinks, file_segment
from dativo_ingest.catalog_web.render import STATIC, badge_class, render
from dativo_ingest.context.api import AIContextAPI
from dativo_ingest.errors import DativoError, NotFoundError, UsageError
from dativo_ingest.policy.guard import scrub_paths

DEFAULT_REQUESTER = "catalog-viewer"
PER_PAGE = 50
LINEAGE_DEPTH = 10  # the static graph holds this many levels each way; the page opens on two


@dataclass
class SiteReport:
    out: Path
    requester: str
    pages: int
    contracts: int


class SiteWriter:
    def __init__(self, out: Path, requester: str, elevated: bool) -> None:
        self.out = out
        self.requester = requester
        self.elevated = elevated
        self.pages = 0

    def write(self, relative: str, template: str, **context: Any) -> None:
        depth = relative.count("/")
        context.update(
            links=StaticLinks("../" * depth), requester=self.requester, elevated=False, static_site=True
        )
        path = self.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(template, **context), encoding="utf-8")
        self.pages += 1


def build_site(api: AIContextAPI, out: Path, requester: str = DEFAULT_REQUESTER) -> SiteReport:
    """Write the static catalog for ``requester`` into ``out`` (created; its old content replaced)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out.name} exists and is not a folder", field="out")
    if out.exists() and any(out.iterdir()) and not (out / "search-index.json").exists():
        raise UsageError(
            f"--out {out.name} is not empty and holds no catalog; choose an empty or new folder", field="out"
        )
    pages = CatalogPages(api, channel="static")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    writer = SiteWriter(out, requester, pages.is_elevated(requester))
    docs = pages.all_contracts(requester)

    first = pages.browse(requester, per_page=PER_PAGE)
    for number in range(1, first.pages + 1):
        result = first if number == 1 else pages.browse(requester, page=number, per_page=PER_PAGE)
        writer.write("index.html" if number == 1 else f"page-{number}.html", "index.html", result=result)

    entries = []
    for doc in docs:
        entries.append(_contract_pages(pages, writer, requester, doc["source_type"], doc["object"], doc))

    runs = pages.runs(requester)
    writer.write("runs.html", "runs.html", data=runs)

    index = {"requester": requester, "contracts": entries}
    text = json.dumps(index, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    (out / "search-index.json").write_text(text, encoding="utf-8")
    script = text.replace("<", "\\u003c")
    (out / "search-index.js").write_text(f"window.DATIVO_SEARCH_INDEX = {script};\n", encoding="utf-8")
    shutil.copytree(STATIC, out / "static", ignore=shutil.ignore_patterns("*.map"))
    return SiteReport(out, requester, writer.pages, len(entries))


def _contract_pages(
    pages: CatalogPages, writer: SiteWriter, requester: str, source_type: str, object_name: str, doc: dict
) -> dict[str, Any]:
    s, o = file_segment(source_type), file_segment(object_name)
    data = pages.contract(requester, source_type, object_name, None)
    node = data["lineage_node"]
    lineage_file = f"lineage/{s}/{o}.html"
    graph = None
    if node is not None:
        try:
            graph = pages.neighbourhood(requester, node, LINEAGE_DEPTH, LINEAGE_DEPTH, columns=True)
        except NotFoundError:
            data["lineage_node"] = None
    if graph is not None:
        links = StaticLinks("../../")
        full = with_links(graph, links)
        shown = [n for n in full["nodes"] if abs(n["depth"]) <= 2]
        ids = {n["id"] for n in shown}
        initial = {
            **full,
            "nodes": shown,
            "edges": [e for e in full["edges"] if e["from"] in ids and e["to"] in ids],
            "all": {"nodes": full["nodes"], "edges": full["edges"]},
        }
        writer.write(lineage_file, "lineage.html", graph=initial, up=2, down=2)
    writer.write(f"contracts/{s}/{o}/index.html", "contract.html", page=data)
    for entry in data["history"]:
        version = entry["version"]
        try:
            older = pages.contract(requester, source_type, object_name, version)
        except DativoError:
            continue
        older["lineage_node"] = data["lineage_node"]
        writer.write(f"contracts/{s}/{o}/v{version}.html", "contract.html", page=older)
        previous = entry["previous_version"]
        if previous:
            try:
                diff = pages.diff(requester, source_type, object_name, previous, version)
            except DativoError:
                continue
            writer.write(f"contracts/{s}/{o}/diff-{previous}..{version}.html", "diff.html", diff=diff)
    fields = [f["name"] for f in data["context"]["schema"]["fields"]]
    return {
        "key": f"{source_type}/{object_name}",
        "name": doc.get("name"),
        "version": doc.get("version"),
        "description": scrub_paths(doc["description"]) if doc.get("description") else None,
        "owner": doc.get("owner"),
        "domain": doc.get("domain"),
        "status": doc.get("status"),
        "tags": doc.get("tags") or [],
        "classification": doc.get("classification") or [],
        "badges": {c: badge_class(c) for c in doc.get("classification") or []},
        "fields": fields,
        "url": f"contracts/{s}/{o}/index.html",
    }
