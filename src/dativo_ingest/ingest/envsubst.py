"""``${ENV_VAR}`` substitution in job configs: :mod:`dativo_ingest.envsubst` (re-exported here)."""

from dativo_ingest.envsubst import substitute

__all__ = ["substitute"]
