"""``${ENV_VAR}`` substitution in configuration files (job configs, the workspace ``dativo.yaml``), with
every substituted value registered as a secret.

Syntax: ``${NAME}`` (must be set), ``${NAME:-default}`` (default when unset or empty), ``$${`` for a
literal ``${``. A value that comes from the environment is treated as a secret: it is registered with
:func:`dativo_ingest.logging.register_secret` and so never appears in a log line or error message.
Put non-secret values in the job file itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from dativo_ingest.errors import ConfigError
from dativo_ingest.logging import register_secret

_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def substitute(
    value: Any, *, env: Mapping[str, str] | None = None, path: str = "", source: str | None = None
) -> Any:
    """A copy of ``value`` (nested dicts/lists/strings) with ``${VAR}`` references resolved."""
    environ = os.environ if env is None else env
    if isinstance(value, dict):
        return {
            k: substitute(v, env=environ, path=f"{path}.{k}" if path else str(k), source=source)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [substitute(v, env=environ, path=f"{path}[{i}]", source=source) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        resolved = environ.get(name)
        if resolved is None or (resolved == "" and default is not None):
            if default is None:
                raise ConfigError(f"environment variable {name} is not set", path=source, field=path or None)
            return default
        register_secret(resolved)
        return resolved

    return _VAR.sub(replace, value)
