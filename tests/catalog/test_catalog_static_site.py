"""``dativo catalog build``: a deterministic static site for one requester's view, with no secret and no
server path in it, its search index generated, and every asset vendored (no CDN anywhere)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from tests.catalog.conftest import RESTRICTED_TEXT, SCRIPT_TEXT, make_api
from tests.conftest import ROOT

CATALOG_WEB = ROOT / "src" / "dativo_ingest" / "catalog_web"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_static_site_is_deterministic_and_holds_no_secret(catalog, tmp_path):
    from dativo_ingest.catalog_web.site import build_site

    first, second = tmp_path / "a", tmp_path / "b"
    report = build_site(make_api(catalog.home), first)
    build_site(make_api(catalog.home), second)
    files = _files(first)
    assert files == _files(second)
    assert report.contracts == 3 and report.requester == "catalog-viewer"
    expected = {
        "index.html",
        "runs.html",
        "search-index.json",
        "search-index.js",
        "contracts/stripe/customers/index.html",
        "contracts/stripe/customers/v1.0.0.html",
        "contracts/stripe/customers/v1.1.0.html",
        "contracts/stripe/customers/diff-1.0.0..1.1.0.html",
        "lineage/stripe/customers.html",
        "static/vendor/cytoscape/LICENSE",
    }
    assert expected <= set(files)
    text = b"\n".join(files.values()).decode("utf-8", "replace")
    assert RESTRICTED_TEXT not in text
    markup = [
        name
        for name, body in files.items()
        if name.endswith((".html", ".js")) and SCRIPT_TEXT.encode() in body
    ]
    assert not markup  # escaped in pages and scripts (search-index.json holds it as JSON data)
    assert str(catalog.home) not in text and str(tmp_path) not in text
    assert not re.search(r"dtv_[0-9a-f]{12}_", text)  # no API key
    assert "dativo_session" not in text


def test_static_site_for_an_elevated_requester_shows_restricted_details(catalog, tmp_path):
    from dativo_ingest.catalog_web.site import build_site

    build_site(make_api(catalog.home), tmp_path / "site", "catalog-admin")
    page = (tmp_path / "site/contracts/stripe/customers/index.html").read_text(encoding="utf-8")
    assert RESTRICTED_TEXT in page


def test_catalog_build_command(catalog, tmp_path, monkeypatch):
    from dativo_ingest.cli.app import app

    monkeypatch.setenv("DATIVO_HOME", str(catalog.home))
    monkeypatch.delenv("DATIVO_DATABASE_URL", raising=False)
    out = tmp_path / "site"
    result = CliRunner().invoke(app, ["catalog", "build", "--out", str(out), "--as", "analyst"])
    assert result.exit_code == 0, result.output
    assert "3 contracts" in result.output and (out / "index.html").exists()
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "keep.txt").write_text("mine")
    refused = CliRunner().invoke(app, ["catalog", "build", "--out", str(tmp_path / "occupied")])
    assert refused.exit_code != 0 and "not empty" in str(refused.exception)
    assert (tmp_path / "occupied" / "keep.txt").exists()


def test_no_page_or_script_links_outside_the_site():
    """Every script, style sheet and image is vendored: no http(s) URL in a template or our own script."""
    own = [
        *CATALOG_WEB.glob("templates/*.html"),
        *CATALOG_WEB.glob("static/*.js"),
        *CATALOG_WEB.glob("static/*.css"),
    ]
    assert own
    for path in own:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), path
        assert "cdn" not in text.lower(), path
    for path in CATALOG_WEB.glob("static/vendor/*/*.js"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']https?://""", text), path
        assert not re.search(r"""import\s*\(\s*["']https?://""", text), path


def test_vendored_libraries_keep_their_licence_and_pinned_version():
    script = (ROOT / "scripts" / "refresh_vendor.sh").read_text(encoding="utf-8")
    for folder in [*CATALOG_WEB.glob("static/vendor/*"), *(ROOT / "tests/catalog/vendor").glob("*")]:
        assert (folder / "LICENSE").stat().st_size > 100, folder
        pinned = (folder / "VERSION").read_text(encoding="utf-8").strip()
        assert re.fullmatch(r"[@\w./-]+@\d+\.\d+\.\d+", pinned) and pinned in script, folder
