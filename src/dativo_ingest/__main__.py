"""``python -m dativo_ingest`` runs the ``dativo`` command."""

from dativo_ingest.cli import main

main()
