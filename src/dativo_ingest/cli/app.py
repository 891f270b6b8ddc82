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
    log_level: str = typer.Option(
        "WARNING", "--log-level", envvar="DATIVO_LOG_LEVEL", help="DEBUG, INFO, WARNING or ERROR (stderr)."
    ),
    log_json: bool = typer.Option(
        False, "--log-json", envvar="DATIVO_LOG_JSON", help="Log one JSON object per line."
    ),
) -> None:
    from dativo_ingest.logging import setup_logging

    _state["debug"] = debug
    level = log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise typer.BadParameter(
            f"{log_level!r} is not one of DEBUG, INFO, WARNING, ERROR", param_hint="--log-level"
        )
    setup_logging(level=level, json=log_json)


def debug_enabled() -> bool:
    return _state["debug"]


def esc(value: object) -> str:
    """``value`` as text that rich prints verbatim (user content may contain ``[...]``)."""
    return escape(str(value))


def _print_traceback() -> None:
    """The current exception's traceback on stderr, secrets redacted (``--debug``)."""
    from dativo_ingest.logging import redact_text

    sys.stderr.write(redact_text(traceback.format_exc()))


def _print_error(message: str) -> None:
    """One red ``error:`` line on stderr, secrets redacted, user text printed verbatim."""
    from dativo_ingest.logging import redact_text

    err_console.print(f"[bold red]error:[/] {esc(redact_text(message))}", highlight=False, soft_wrap=True)


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
            _print_traceback()
        _print_error(str(exc))
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except Exception as exc:  # usage errors (typer's own click) and anything unexpected
        if isinstance(exc, typer.TyperException) and hasattr(exc, "show"):
            exc.show()  # "Usage: ..." and "Error: No such option", exit code 2
            return exc.exit_code
        if debug:
            _print_traceback()
        else:
            _print_error(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 1
    return result if isinstance(result, int) else 0
