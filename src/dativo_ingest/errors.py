"""One exception hierarchy for dativo.

Every error the user can cause derives from :class:`DativoError`. Errors carry their facts as
attributes (``path``, ``line``, ``field``, ``requester``) so the CLI prints one clear line, ``--json``
prints the fields, and the HTTP API maps them to status codes in one place (``http_status``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class DativoError(Exception):
    """Base class of every error dativo raises on bad input or a failed operation."""

    http_status = 400
    #: The process exit code the CLI returns for this error.
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        **facts: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.facts = facts

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "")
        if self.field:
            where = f"{where} {self.field}".strip()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data, for ``--json`` output and HTTP bodies."""
        data: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        for key in ("path", "line", "field"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        data.update({k: v for k, v in self.facts.items() if v is not None})
        return data


class ConfigError(DativoError):
    """A configuration file or option is malformed or inconsistent."""


class YAMLLoadError(ConfigError):
    """A YAML file cannot be read: syntax, duplicate keys, size limit or wrong top-level type."""


class AcceptedChangesError(ConfigError):
    """The accepted-changes file of the PR gate is malformed (exit code 2: the gate could not judge)."""

    exit_code = 2


class ContractValidationError(DativoError):
    """A contract breaks the ODCS schema or one of dativo's semantic rules."""

    def __init__(self, message: str, *, errors: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors or []


class NotFoundError(DativoError):
    """A contract, node, asset or run that was asked for does not exist."""

    http_status = 404


class QuarantineEmptyError(NotFoundError):
    """A quarantine replay of a job that has no quarantined rows (the CLI exits with code 2)."""

    exit_code = 2


class ContractNotFoundError(NotFoundError):
    """No contract is registered under the given source, object and version."""


class BreakingChangeError(DativoError, ValueError):
    """A contract change needs a larger version bump than the one given."""

    http_status = 409

    def __init__(
        self,
        message: str,
        *,
        changes: list[Any] | None = None,
        required_version: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, required_version=required_version, **kwargs)
        self.changes = changes or []
        self.required_version = required_version


class UsageError(DativoError, ValueError):
    """A value passed to an API is out of range or of the wrong kind (negative usage, bad name)."""


class LockTimeoutError(DativoError):
    """Another process held a lock (a job's run, a contract's history) longer than the wait allows."""

    http_status = 409


class StoreError(DativoError):
    """The metadata store cannot be opened, migrated or written."""

    http_status = 500


class IngestionError(DativoError):
    """An ingestion run failed; nothing of it was committed."""

    http_status = 500


class SourceError(IngestionError):
    """A source cannot be read (missing file, refused connection, bad API response)."""


class TargetError(IngestionError):
    """A target cannot be written (catalog, table or schema evolution problem)."""


class DataValidationError(IngestionError):
    """Rows broke the contract and the run's validation mode does not allow it."""


class DbtError(DativoError):
    """dbt generation, parsing or a dbt invocation failed."""


class AuthenticationError(DativoError):
    """No valid credentials were presented (HTTP 401)."""

    http_status = 401


class PolicyDenied(DativoError, PermissionError):
    """The policy guard refused a request (HTTP 403)."""

    http_status = 403

    def __init__(self, message: str, *, requester: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, requester=requester, **kwargs)
        self.requester = requester


class ContractImportError(DativoError):
    """A contract import cannot read its source (server, credentials, table, type, pattern): exit 2."""

    exit_code = 2
