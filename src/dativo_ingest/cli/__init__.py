"""Command-line interface (``dativo``)."""

import sys


def main() -> None:
    """Console-script entry point."""
    from dativo_ingest.cli.app import main as run

    sys.exit(run())
