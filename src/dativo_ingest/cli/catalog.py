"""``dativo catalog build``: the web catalog as a static site (the served one is ``dativo serve``)."""

from __future__ import annotations

from pathlib import Path

import typer

from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
from dativo_ingest.catalog_web.site import DEFAULT_REQUESTER, build_site
from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.cli.serve import POLICY_OPTION, _policy_path

catalog_app = typer.Typer(help="Build the web catalog as a static site.", no_args_is_help=True)


@catalog_app.command("build")
def catalog_build(
    out: Path = typer.Option(Path("site"), "--out", help="Folder to write the site into (replaced)."),
    requester: str = typer.Option(
        DEFAULT_REQUESTER, "--as", help="Render the view of this requester (default: a non-elevated one)."
    ),
    policy: Path | None = POLICY_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Write the catalog's pages for one requester as a static site with client-side search."""
    api = AIContextAPI(policy_guard=PolicyGuard(_policy_path(policy)), channel="static")
    report = build_site(api, out, requester)
    if as_json:
        print_json(
            {
                "out": str(report.out),
                "requester": report.requester,
                "pages": report.pages,
                "contracts": report.contracts,
            }
        )
        return
    console.print(
        esc(
            f"catalog for {report.requester}: {report.contracts} contracts, {report.pages} pages -> "
            f"{report.out}/index.html"
        ),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
