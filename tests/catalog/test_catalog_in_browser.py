"""The catalog in a real browser (Debian's Chromium via Playwright): sign in, search, a contract, a diff,
the lineage graph, the cost chart; axe-core on every page type; nothing restricted in any response;
core pages without JavaScript; the static site offline. Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.catalog.conftest import RESTRICTED_TEXT, SCRIPT_TEXT, make_api
from tests.conftest import ROOT

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "tests" / "catalog" / "vendor" / "axe-core" / "axe.min.js"
VIEWPORT = {"width": 1360, "height": 900}
TIMEOUT = 20_000


@pytest.fixture
def browser_context(chromium: Any, catalog_url: str) -> Any:
    # bypass_csp: axe-core is injected as an inline script, which the catalog's CSP (rightly) refuses
    context = chromium.new_context(base_url=catalog_url, viewport=VIEWPORT, bypass_csp=True)
    context.set_default_timeout(TIMEOUT)
    yield context
    context.close()


@pytest.fixture
def page(browser_context: Any) -> Any:
    return browser_context.new_page()


def sign_in(page: Any, key: str) -> None:
    page.goto("/")
    assert page.locator("h1").inner_text() == "Sign in to the catalog"
    page.fill("#key", key)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_selector("#hits")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_accessible(page: Any, what: str) -> None:
    """axe-core finds no serious or critical violation on the page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    summary = [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in bad]
    assert not bad, f"{what}: {summary}"


def test_sign_in_search_open_a_contract_and_a_diff(page: Any, catalog: Any) -> None:
    page.goto("/")
    screenshot(page, "signin")
    assert_accessible(page, "sign-in page")
    sign_in(page, catalog.keys["analyst"])
    assert "Signed in as" in page.locator(".who").inner_text()
    screenshot(page, "index")
    assert_accessible(page, "index")

    page.fill("#q", "email")
    page.click("#search-form button[type=submit]")
    page.wait_for_url(re.compile(r"q=email"))
    titles = page.locator(".hit-title a").all_inner_texts()
    assert titles == ["stripe_customers"]

    page.click("text=stripe_customers")
    page.wait_for_selector("#schema")
    assert page.locator(".row-restricted").count() >= 1
    assert "restricted" in page.locator("#schema").inner_text()
    assert SCRIPT_TEXT in page.locator("#main").inner_text()  # shown as text, not run
    assert page.evaluate("window.__catalog_xss === undefined")
    screenshot(page, "contract")
    assert_accessible(page, "contract page")

    page.select_option("#from", "1.0.0")
    page.select_option("#to", "1.1.0")
    page.click("form.compare button[type=submit]")
    page.wait_for_selector(".side-by-side")
    assert "non-breaking" in page.locator(".verdict").inner_text()
    assert "country" in page.locator(".side-by-side").inner_text()
    screenshot(page, "diff")
    assert_accessible(page, "diff page")


def test_lineage_graph_opens_focused_and_expands_on_click(page: Any, catalog: Any) -> None:
    sign_in(page, catalog.keys["analyst"])
    page.goto("/lineage?node=asset://stripe/customers@1.0.0&up=1&down=1")
    page.wait_for_selector("body[data-graph-ready='true']")
    before = page.evaluate("dativoGraph.nodes().length")
    assert before >= 2
    # click, with the real mouse, a node that has not been expanded yet
    target = page.evaluate(
        """() => {
            const n = dativoGraph.nodes('.expandable').filter(n => n.data('type') === 'transformation')[0]
                || dativoGraph.nodes('.expandable')[0];
            const p = n.renderedPosition();
            return {id: n.id(), x: p.x, y: p.y};
        }"""
    )
    box = page.locator("#graph").bounding_box()
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    page.wait_for_function(f"dativoGraph.nodes().length > {before}")
    assert target["id"].split("/")[-1] in page.locator("#node-panel").inner_text()
    page.check("#show-columns")
    page.wait_for_function("document.getElementById('graph-status').textContent.includes('column edge')")
    page.wait_for_timeout(200)
    # the demo records no column lineage for this node: say so, not "0 column edges shown (of 0 ...)"
    assert page.locator("#graph-status").inner_text() == "No column edges recorded for this node."
    screenshot(page, "lineage")
    assert_accessible(page, "lineage page")


def test_cost_chart_by_tenant_job_and_cost_centre(page: Any, catalog: Any) -> None:
    sign_in(page, catalog.keys["analyst"])
    page.click("nav >> text=Runs & costs")
    page.wait_for_selector("body[data-chart-ready='tenant']")
    assert page.evaluate("Chart.getChart(document.getElementById('cost-chart')).data.datasets.length") >= 1
    assert "stripe-customers-ingest" in page.locator("table.runs").inner_text()
    page.click("button[data-dim='job']")
    page.wait_for_selector("body[data-chart-ready='job']")
    labels = page.evaluate(
        "Chart.getChart(document.getElementById('cost-chart')).data.datasets.map(d => d.label)"
    )
    assert "acme/stripe-customers-ingest" in labels
    ticks = page.evaluate(
        "Chart.getChart(document.getElementById('cost-chart')).scales.y.ticks.map(t => t.label)"
    )
    # two significant digits without trailing zeros: "$0.000006", not "$0.0000060"
    assert ticks and all(re.fullmatch(r"\$(0|[0-9.e-]*[1-9](e-?[0-9]+)?)", t) for t in ticks), ticks
    screenshot(page, "runs")
    assert_accessible(page, "runs and costs page")


def test_audit_and_error_pages(page: Any, catalog: Any) -> None:
    sign_in(page, catalog.keys["catalog-admin"])
    page.goto("/audit")
    assert page.locator("table.audit tbody tr").count() > 0
    screenshot(page, "audit")
    assert_accessible(page, "audit page")
    response = page.goto("/contracts/stripe/nothing-here")
    assert response.status == 404 and page.locator("h1").inner_text() == "Not found"
    screenshot(page, "not-found")
    assert_accessible(page, "404 page")


def test_no_restricted_value_in_any_page_or_response(page: Any, catalog: Any, catalog_url: str) -> None:
    bodies: list[tuple[str, str]] = []
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))

    def keep(response: Any) -> None:
        try:
            bodies.append((response.url, response.text()))
        except Exception:  # redirects have no body
            bodies.append((response.url, ""))

    page.on("response", keep)
    sign_in(page, catalog.keys["analyst"])
    for path in [
        "/?q=email",
        "/?q=customer+email+address",
        "/contracts/stripe/customers",
        "/contracts/stripe/customers?version=1.0.0",
        "/contracts/stripe/customers/diff?from=1.0.0&to=1.1.0",
        "/runs",
    ]:
        page.goto(path)
        assert RESTRICTED_TEXT not in page.content(), path
    page.goto("/lineage/stripe/customers")
    page.wait_for_selector("body[data-graph-ready='true']")
    page.evaluate("dativoGraph.nodes('.expandable').forEach(n => n.emit('tap'))")
    page.check("#show-columns")
    page.wait_for_function("document.getElementById('graph-status').textContent.includes('column edge')")
    page.wait_for_load_state("networkidle")
    assert len(bodies) > 10
    leaks = [url for url, body in bodies if RESTRICTED_TEXT in body]
    assert not leaks
    assert all(url.startswith(catalog_url) for url in requested), "every request stays on the catalog"


def test_core_pages_work_without_javascript(chromium: Any, catalog: Any, catalog_url: str) -> None:
    context = chromium.new_context(base_url=catalog_url, viewport=VIEWPORT, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, catalog.keys["analyst"])
        page.fill("#q", "email")
        page.click("#search-form button[type=submit]")
        assert page.locator(".hit-title a").all_inner_texts() == ["stripe_customers"]
        page.goto("/?classification=PII")
        page.click("a.facet-value[data-value='PII']")  # a facet link toggles the filter off
        assert page.locator(".hit").count() == 3
        page.goto("/contracts/stripe/customers")
        assert page.locator("table.schema tbody tr").count() == 4
        page.select_option("#from", "1.0.0")
        page.click("form.compare button[type=submit]")
        assert "1.0.0 → 1.1.0" in page.locator("h1").inner_text()
    finally:
        context.close()


def test_static_site_works_offline(chromium: Any, catalog: Any, tmp_path: Path) -> None:
    from dativo_ingest.catalog_web.site import build_site

    out = tmp_path / "site"
    build_site(make_api(catalog.home), out)
    context = chromium.new_context(viewport=VIEWPORT, offline=True, bypass_csp=True)
    requested: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda r: requested.append(r.url))
        page.goto((out / "index.html").as_uri())
        page.wait_for_function("document.querySelectorAll('#hits .hit').length === 3")
        page.fill("#q", "email")
        page.wait_for_function("document.querySelectorAll('#hits .hit').length === 1")
        screenshot(page, "static-index")
        assert_accessible(page, "static index")
        page.click("#hits .hit-title a")
        page.wait_for_selector("#schema")
        assert RESTRICTED_TEXT not in page.content()
        page.click("text=Open the lineage graph")
        page.wait_for_selector("body[data-graph-ready='true']")
        assert page.evaluate("dativoGraph.nodes().length") >= 2
        assert all(url.startswith("file://") for url in requested)
    finally:
        context.close()


def test_big_lineage_graph_opens_in_rings_by_hops_inside_the_view(page: Any, catalog: Any) -> None:
    """Above 600 nodes the graph is laid out in rings by hops from the focused node, every node in view."""
    from dativo_ingest.lineage_graph.tracker import LineageTracker

    tracker = LineageTracker(catalog.api.store, openlineage=False)
    root = tracker.add_transformation_node("rev14_big_root", scope="rev14")
    for t in range(7):
        step = tracker.add_transformation_node(f"rev14_step_{t}", scope="rev14")
        tracker.add_edge(root.id, step.id, "applies")
        for k in range(100):
            model = tracker.add_dbt_model_node(f"model.rev14.m_{t}_{k}")
            tracker.add_edge(step.id, model.id, "feeds")
    sign_in(page, catalog.keys["analyst"])
    page.goto(f"/lineage?node={root.id}&up=0&down=2")
    page.wait_for_selector("body[data-graph-ready='true']")
    shape = page.evaluate(
        """(root) => {
            const box = document.getElementById('graph').getBoundingClientRect();
            const radius = {};
            let outside = 0;
            dativoGraph.nodes().forEach(n => {
                const p = n.position(), r = n.renderedPosition();
                const hop = n.id() === root ? 0 : (n.incomers('node').id() === root ? 1 : 2);
                (radius[hop] = radius[hop] || []).push(Math.round(Math.hypot(p.x, p.y)));
                if (r.x < 0 || r.y < 0 || r.x > box.width || r.y > box.height) { outside += 1; }
            });
            const span = h => [Math.min(...radius[h]), Math.max(...radius[h])];
            return {count: dativoGraph.nodes().length, outside: outside,
                    radii: Object.keys(radius).sort().map(span)};
        }""",
        root.id,
    )
    assert shape["count"] == 708
    assert shape["outside"] == 0
    (r0, _), (r1_min, r1_max), (r2_min, r2_max) = shape["radii"]
    assert r0 == 0
    assert r1_min > 0 and r1_max - r1_min <= 1  # hop 1: one ring
    assert r1_max < r2_min and r2_max - r2_min <= 1  # hop 2: one ring outside it
