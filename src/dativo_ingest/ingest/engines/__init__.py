"""Where a run's read-and-validate work runs: this process (``engine: {type: local}``, the default) or
Ray tasks across a cluster (``engine: {type: ray}``, :mod:`.distributed`, with the ``[ray]`` extra)."""
