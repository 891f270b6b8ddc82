"""Pre-1.10 dbt YAML from current-syntax documents (``style="legacy"``), for older dbt versions.

``data_tests`` become ``tests`` with arguments inline, and ``config.meta`` / ``config.tags`` of sources,
tables, columns and exposures move to the node itself (models keep ``config``, which older dbt reads).
"""

from __future__ import annotations

import copy
from typing import Any


def _tests(tests: list[Any]) -> list[Any]:
    out = []
    for test in tests:
        if isinstance(test, dict):
            ((name, body),) = test.items()
            flat = {**body.get("arguments", {}), **{k: v for k, v in body.items() if k != "arguments"}}
            out.append({name: flat})
        else:
            out.append(test)
    return out


def _lift_config(node: dict[str, Any]) -> None:
    config = node.pop("config", None) or {}
    for key in ("meta", "tags"):
        if key in config:
            node[key] = config.pop(key)
    if config:
        node["config"] = config


def _columns(node: dict[str, Any]) -> None:
    for column in node.get("columns", []):
        if "data_tests" in column:
            column["tests"] = _tests(column.pop("data_tests"))
        _lift_config(column)


def to_legacy(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` in legacy dbt syntax."""
    doc = copy.deepcopy(document)
    for source in doc.get("sources", []):
        _lift_config(source)
        for table in source.get("tables", []):
            _lift_config(table)
            _columns(table)
    for model in doc.get("models", []):
        if "data_tests" in model:
            model["tests"] = _tests(model.pop("data_tests"))
        _columns(model)
    for exposure in doc.get("exposures", []):
        _lift_config(exposure)
    return doc
