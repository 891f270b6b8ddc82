"""Command-line interface (``dativo``)."""

import sys

from dativo_ingest.cli.app import main as run


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
