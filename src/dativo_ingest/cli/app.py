"""The ``dativo`` command: a typer app whose command groups live one per module in this package.

Interfaces stay thin: parse options, call one service, render the result. Each command module exposes
``register(app)``; add it to :data:`COMMAND_MODULES`. Heavy libraries (pyiceberg, dbt, FastAPI) are
imported inside the commands that need them, so ``dativo --help`` stays fast.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback

import typer
from rich.console import Console
from rich.markup import escape

from dativo_ingest.errors import DativoError

COMMAND_MODULES: tuple[str, ...] = (
    "dativo_ingest.cli.contract",
    "dativo_ingest.cli.contract_registry",
    "dativo_ingest.cli.finops",
    "dativo_ingest.cli.lineage",
    "dativo_ingest.cli.dbt",
    "dativo_ingest.cli.run",
    "dativo_ingest.cli.demo",
    "dativo_ingest.cli.serve",
)

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

app = typer.Typer(
    name="dativo",
    help="Contract-governed ingestion into Iceberg, with dbt, lineage, FinOps and a governed AI context API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_state = {"debug": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    _state["debug"] = debug


def debug_enabled() -> bool:
    return _state["debug"]


def esc(value: object) -> str:
    """``value`` as text that rich prints verbatim (user content may contain ``[...]``)."""
    return escape(str(value))


def print_json(data: object) -> None:
    """Write ``data`` as indented JSON to stdout (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dativo`` console script; errors become one line and exit code 1."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result = app(args=argv, standalone_mode=False)
    except DativoError as exc:
        if debug:
            traceback.print_exc()
        err_console.print(f"[bold red]error:[/] {esc(exc)}", highlight=False, soft_wrap=True)
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except Exception as exc:  # click usage errors and anything unexpected
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Exit):
            return exc.exit_code
        if debug:
            traceback.print_exc()
        else:
            err_console.print(
                f"[bold red]error:[/] {type(exc).__name__}: {esc(exc)} (run with --debug for the traceback)",
                highlight=False,
                soft_wrap=True,
            )
        return 1
    return result if isinstance(result, int) else 0
