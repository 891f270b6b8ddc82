"""The dbt project of a workspace: generated from the latest version of every registered contract.

The one place a workspace's project is generated: ``dativo dbt generate``, ``dativo demo`` and a run with
``dbt: {refresh: true}`` all call :func:`generate_workspace_project`.

    result = generate_workspace_project(Workspace.current())        # specs/ -> dbt/, raw tables in warehouse/
    result.summary()  # {"out": ".../dbt", "contracts": 2, "written": 10, "unchanged": 0, ...}
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dativo_ingest.dbt.options import GenerationOptions
from dativo_ingest.dbt.project import ProjectConfig, ProjectResult, generate_project
from dativo_ingest.dbt.registry import latest_contracts
from dativo_ingest.errors import ConfigError
from dativo_ingest.workspace import Workspace
from dativo_ingest.yamlio import load_mapping


def generate_workspace_project(
    workspace: Workspace,
    *,
    specs_dir: Path | None = None,
    out_dir: Path | None = None,
    exposures: Path | None = None,
    exposures_origin: str | None = None,
    config: ProjectConfig | None = None,
    options: GenerationOptions | None = None,
) -> ProjectResult:
    """Write the dbt project of ``workspace``'s registered contracts (see :mod:`dativo_ingest.dbt.project`).

    ``specs_dir`` and ``out_dir`` default to the workspace's ``specs/`` and ``dbt/``, ``config.warehouse``
    to its ``warehouse/``. ``exposures``: a YAML file with an ``exposures:`` list (it replaces
    ``config.exposures``), named in generated headers and errors by ``exposures_origin`` (default: the
    path as given).
    """
    config = config or ProjectConfig()
    if config.warehouse is None:
        config = dataclasses.replace(config, warehouse=workspace.warehouse)
    if exposures is not None:
        config = dataclasses.replace(
            config,
            exposures=load_exposures(exposures),
            exposures_origin=exposures_origin or str(exposures),
        )
    return generate_project(
        latest_contracts(specs_dir or workspace.specs),
        out_dir or workspace.dbt,
        config,
        options or GenerationOptions(),
    )


def load_exposures(path: Path) -> tuple[dict, ...]:
    """The entries of the ``exposures:`` list in the YAML file ``path``."""
    listed = load_mapping(path).get("exposures")
    if not isinstance(listed, list):
        raise ConfigError("needs a list under 'exposures:'", path=path, field="exposures")
    return tuple(listed)
