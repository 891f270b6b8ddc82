"""The ``dativo`` command: a typer app whose command groups live one per module in this package.

Interfaces stay thin: parse options, call one service, render the result. Each command module imports
what it needs at its top and exposes ``register(app)``, which adds its commands to a typer app.

``dativo --help`` stays fast because the root group imports a command's module only when that command
is invoked (click's "lazy loading subcommands" pattern, on typer's group): :data:`COMMANDS` names every
command, the module that registers it and the help line the listing shows, so listing the commands
imports none of them. A new command is a module with ``register(app)`` and one line in :data:`COMMANDS`.
"""

from __future__ import annotations

import functools
import importlib
import json
import sys
import traceback
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer
import typer.main
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from dativo_ingest.errors import DativoError
from dativo_ingest.logging import redact_text, setup_logging

if TYPE_CHECKING:  # typer's vendored click: the types TyperGroup's methods are declared with
    from typer._click import Command, Context, HelpFormatter


@dataclass(frozen=True)
class LazyCommand:
    """A command (or command group) whose module is imported when the command is invoked."""

    #: The module whose ``register(app)`` adds the command.
    module: str
    #: What the parent's ``--help`` lists for it; None imports the module to read the command's own help.
    help: str | None = None


#: Every ``dativo`` command, in ``dativo --help`` order; the help lines equal each command's own help
#: (tests/contract/test_cli_startup.py keeps them so).
COMMANDS: dict[str, LazyCommand] = {
    "run": LazyCommand(
        "dativo_ingest.cli.run",
        "Ingest through the contract: validate, quarantine, commit once to Iceberg, record lineage and cost.",
    ),
    "demo": LazyCommand(
        "dativo_ingest.cli.demo",
        "The first command to run: a complete, offline tour of dativo in a new folder.",
    ),
    "serve": LazyCommand(
        "dativo_ingest.cli.serve",
        "Serve the AI context API over HTTP (OpenAPI at /openapi.json) and MCP at /mcp, behind API keys.",
    ),
    "mcp": LazyCommand(
        "dativo_ingest.cli.serve",
        "Run the MCP server: over stdio as the requester bound to the API key, or over streamable HTTP.",
    ),
    "audit": LazyCommand("dativo_ingest.cli.audit", "Show recorded policy decisions (oldest first)."),
    "contract": LazyCommand(
        "dativo_ingest.cli.contract", "Validate, convert, version and diff data contracts."
    ),
    "finops": LazyCommand(
        "dativo_ingest.cli.finops", "Run costs: attribution reports and FOCUS billing export."
    ),
    "lineage": LazyCommand("dativo_ingest.cli.lineage", "Query and export the lineage graph."),
    "dbt": LazyCommand(
        "dativo_ingest.cli.dbt", "Generate dbt projects from contracts and import dbt manifests."
    ),
    "quarantine": LazyCommand(
        "dativo_ingest.cli.quarantine",
        "Inspect quarantined rows and replay them against the contract now in force.",
    ),
    "keys": LazyCommand(
        "dativo_ingest.cli.keys", "Create, list and revoke API keys (each bound to one requester)."
    ),
    "notifications": LazyCommand(
        "dativo_ingest.cli.notifications", "Notification deliveries: what was sent where, and what failed."
    ),
    "sla": LazyCommand(
        "dativo_ingest.cli.sla", "Check contracts' SLAs (freshness, frequency) against run history."
    ),
}

#: ``ctx.meta`` key set while a group renders its help (its command listing needs only help lines).
_LISTING = "dativo_ingest.cli.listing"


@functools.cache
def commands_of(module: str) -> Mapping[str, Any]:
    """The click commands ``module``'s ``register(app)`` adds, by name (imported once per process)."""
    holder = typer.Typer()
    importlib.import_module(module).register(holder)
    return dict(typer.main.get_group(holder).commands)


class _Commands(MutableMapping[str, Any]):
    """A group's commands: the ones added to it, then the lazy ones, each loaded on first access."""

    def __init__(self, added: MutableMapping[str, Any], lazy: Mapping[str, LazyCommand]) -> None:
        self._added = added
        self._lazy = lazy

    def __getitem__(self, name: str) -> Any:
        if name in self._added:
            return self._added[name]
        if name in self._lazy:
            return commands_of(self._lazy[name].module)[name]
        raise KeyError(name)

    def __setitem__(self, name: str, command: Any) -> None:
        self._added[name] = command

    def __delitem__(self, name: str) -> None:
        del self._added[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._added
        yield from (name for name in self._lazy if name not in self._added)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class LazyGroup(TyperGroup):
    """A typer group that imports a command's module when the command is invoked.

    Subclasses set :attr:`lazy_commands`. Listing the commands (``--help``, a misspelt command's "did you
    mean") uses their names and help lines; only a command that runs (or shows its own help) is imported.
    """

    lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.commands, self.lazy_commands)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        entry = self.lazy_commands.get(cmd_name)
        if ctx.meta.get(_LISTING) and entry is not None and entry.help is not None:
            return TyperCommand(cmd_name, help=entry.help)  # a help line for the listing, nothing imported
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        ctx.meta[_LISTING] = True
        try:
            super().format_help(ctx, formatter)
        finally:
            ctx.meta.pop(_LISTING, None)


class DativoGroup(LazyGroup):
    """The root ``dativo`` group: :data:`COMMANDS`."""

    lazy_commands = COMMANDS


console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

app = typer.Typer(
    name="dativo",
    help="Contract-governed ingestion into Iceberg, with dbt, lineage, FinOps and a governed AI context API.",
    cls=DativoGroup,
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
    sys.stderr.write(redact_text(traceback.format_exc()))


def _print_error(message: str) -> None:
    """One red ``error:`` line on stderr, secrets redacted, user text printed verbatim."""
    err_console.print(f"[bold red]error:[/] {esc(redact_text(message))}", highlight=False, soft_wrap=True)


def print_json(data: object) -> None:
    """Write ``data`` as indented JSON to stdout (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dativo`` console script; errors become one line and exit code 1."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result = app(args=argv, standalone_mode=False)
    except DativoError as exc:
        if debug:
            _print_traceback()
        _print_error(str(exc))
        return exc.exit_code
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
