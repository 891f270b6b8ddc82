"""Contract validation: the official ODCS JSON Schema plus dativo's semantic rules.

Rules that go beyond the ODCS standard (an owner, a known status) are errors for dativo-governed
contracts (those with a ``source_type``) and warnings for plain ODCS documents. Each rule is a
small pure function ``rule(asset) -> Iterable[Issue]``; :data:`RULES` lists the active ones and
:func:`validate_asset` runs them all. An issue names its authoring path (``schema[1].type``)
and, when the source text is given, its line. Warnings become errors with ``strict=True``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs

from dativo_ingest.errors import DativoError
from dativo_ingest.odcs.convert import ENUM_ENTRIES
from dativo_ingest.odcs.dialects import FIELD_CONSTRAINTS
from dativo_ingest.odcs.model import AssetDefinition, SchemaField
from dativo_ingest.odcs.paths import in_dialect
from dativo_ingest.odcs.quality import contract_checks
from dativo_ingest.odcs.types import DATIVO_TYPES, normalize_type
from dativo_ingest.odcs.versions import schema_version, validator
from dativo_ingest.yamlio import line_of, read_mapping

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STATUSES = frozenset({"active", "proposed", "draft", "deprecated", "retired"})
CLASSIFICATIONS = frozenset(
    {"PUBLIC", "INTERNAL", "CONFIDENTIAL", "RESTRICTED", "SENSITIVE", "PII", "PHI", "PCI", "SECRET"}
)


@dataclass(frozen=True)
class Issue:
    """One problem found in a contract."""

    path: str
    message: str
    severity: str = "error"
    rule: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line else self.path
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class ValidationReport:
    """The outcome of validating one contract."""

    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def as_tuple(self) -> tuple[bool, list[str]]:
        """``(is_valid, [error messages])`` as the spec's ``validate_contract`` returns it."""
        return self.is_valid, [str(i) for i in self.errors]


Rule = Callable[[AssetDefinition], Iterable[Issue]]


# ----- helpers ------------------------------------------------------------------------------------------


def field_paths(asset: AssetDefinition) -> Iterator[tuple[str, SchemaField]]:
    """Every field with its model path (``schema[0].properties[1]``; see :func:`in_dialect`)."""
    for o, obj in enumerate(asset.objects):
        for i, top in enumerate(obj.properties):
            yield from _walk(top, f"schema[{o}].properties[{i}]")


def _walk(node: SchemaField, path: str) -> Iterator[tuple[str, SchemaField]]:
    yield path, node
    for j, child in enumerate(node.properties):
        yield from _walk(child, f"{path}.properties[{j}]")
    if node.items is not None:
        yield from _walk(node.items, f"{path}.items")


def _error(path: str, message: str, rule: str) -> Issue:
    return Issue(path, message, "error", rule)


def _warning(path: str, message: str, rule: str) -> Issue:
    return Issue(path, message, "warning", rule)


# ----- rules ----------------------------------------------------------------------------------------------


def official_schema(asset: AssetDefinition) -> Iterator[Issue]:
    """The contract, converted to ODCS, must validate against the official JSON Schema."""
    target = schema_version(asset.api_version)
    document = asset.to_odcs(target)
    for error in sorted(
        _validator(target).iter_errors(document), key=lambda e: [str(p) for p in e.instance_path]
    ):
        location = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in error.instance_path)
        yield _error(location.replace(".[", "["), f"ODCS {target} schema: {error.message}", "official_schema")


def semantic_version(asset: AssetDefinition) -> Iterator[Issue]:
    if not SEMVER.match(str(asset.version)):
        yield _error(
            "version", f"'{asset.version}' is not a semantic version (MAJOR.MINOR.PATCH)", "semantic_version"
        )


def _governed(asset: AssetDefinition) -> bool:
    """dativo-governed contracts (those naming a ``source_type``) must meet rules plain ODCS leaves open."""
    return asset.source_type is not None


def known_status(asset: AssetDefinition) -> Iterator[Issue]:
    if asset.status not in STATUSES:
        report = _error if _governed(asset) else _warning
        yield report(
            "status", f"'{asset.status}' is not one of {', '.join(sorted(STATUSES))}", "known_status"
        )


def owner_present(asset: AssetDefinition) -> Iterator[Issue]:
    owner = asset.owner
    if not owner:
        report = _error if _governed(asset) else _warning
        yield report(
            "team.owner",
            "every contract needs an owner (team.owner, or an ODCS team member with role owner)",
            "owner_present",
        )
    elif _governed(asset) and not EMAIL.match(owner):
        yield _error("team.owner", f"'{owner}' is not an email address", "owner_present")


def schema_not_empty(asset: AssetDefinition) -> Iterator[Issue]:
    """ODCS allows a contract without a schema (a template, a draft): a warning for plain ODCS."""
    if not any(obj.properties for obj in asset.objects):
        report = _error if _governed(asset) else _warning
        yield report("schema", "Schema cannot be empty: declare at least one field", "schema_not_empty")


def unique_field_names(asset: AssetDefinition) -> Iterator[Issue]:
    seen_objects: set[str] = set()
    for o, obj in enumerate(asset.objects):
        if obj.name in seen_objects:
            yield _error(f"schema[{o}].name", f"duplicate schema object '{obj.name}'", "unique_field_names")
        seen_objects.add(obj.name)
        yield from _unique_among(obj.properties, f"schema[{o}].properties")
    for path, node in field_paths(asset):
        if node.properties:
            yield from _unique_among(node.properties, f"{path}.properties")


def _unique_among(fields: list[SchemaField], base: str) -> Iterator[Issue]:
    seen: set[str] = set()
    for i, node in enumerate(fields):
        if node.name in seen:
            yield _error(f"{base}[{i}].name", f"duplicate field name '{node.name}'", "unique_field_names")
        seen.add(node.name)


def known_types(asset: AssetDefinition) -> Iterator[Issue]:
    for path, node in field_paths(asset):
        if node.type is None:
            if node.physical_type is None:
                yield _error(f"{path}.type", f"field '{node.name}' has no type", "known_types")
        elif normalize_type(node.type) not in DATIVO_TYPES:
            yield _error(
                f"{path}.type",
                f"unknown type '{node.type}' (known: {', '.join(sorted(DATIVO_TYPES))})",
                "known_types",
            )


def known_classifications(asset: AssetDefinition) -> Iterator[Issue]:
    allowed = ", ".join(sorted(CLASSIFICATIONS))
    labels = asset.compliance.classification if asset.compliance else []
    for i, label in enumerate(labels):
        if str(label).upper() not in CLASSIFICATIONS:
            yield _error(
                f"compliance.classification[{i}]",
                f"unknown classification '{label}' ({allowed})",
                "known_classifications",
            )
    for path, node in field_paths(asset):
        if node.classification and node.classification.upper() not in CLASSIFICATIONS:
            yield _error(
                f"{path}.classification",
                f"unknown classification '{node.classification}' ({allowed})",
                "known_classifications",
            )


#: ODCS v3.1/v3.2 property keys the model keeps as extras (not unknown).
_ODCS_EXTRA_KEYS = frozenset(
    {"id", "relationships", "semanticType", "synonyms", "deprecated", "map", ENUM_ENTRIES}
)


def known_field_keys(asset: AssetDefinition) -> Iterator[Issue]:
    """A key a field does not know (a typo like ``uniqe``) is a warning; it is kept in customProperties."""

    known = sorted(
        {info.alias or name for name, info in SchemaField.model_fields.items()}
        | set(FIELD_CONSTRAINTS)
        | {"logicalType"}
    )
    for path, node in field_paths(asset):
        for key in sorted(set(node.model_extra or {}) - _ODCS_EXTRA_KEYS):
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            yield _warning(
                f"{path}.{key}",
                f"unknown key '{key}'{hint} (kept as customProperties dativo.{key}; "
                "custom keys belong under customProperties)",
                "known_field_keys",
            )


def retention_not_negative(asset: AssetDefinition) -> Iterator[Issue]:
    days = asset.retention_days
    if days is not None and days < 0:
        yield _error("compliance.retention_days", f"must be 0 or more, got {days}", "retention_not_negative")


def checks_understood(asset: AssetDefinition) -> Iterator[Issue]:
    """Every check form is understood (else it is enforced nowhere) and carries what it needs."""
    for note in contract_checks(asset).unsupported:
        yield Issue(note.path, note.message, note.severity, "checks_understood")


def monitoring_has_oncall(asset: AssetDefinition) -> Iterator[Issue]:
    monitoring = asset.data_quality.monitoring if asset.data_quality else None
    if (
        monitoring
        and monitoring.get("enabled")
        and not (monitoring.get("oncall_rotation") or monitoring.get("oncall"))
    ):
        yield _error(
            "data_quality.monitoring.oncall_rotation",
            "monitoring is enabled but no on-call is named",
            "monitoring_has_oncall",
        )


RULES: tuple[Rule, ...] = (
    official_schema,
    semantic_version,
    known_status,
    owner_present,
    schema_not_empty,
    unique_field_names,
    known_types,
    known_classifications,
    known_field_keys,
    retention_not_negative,
    checks_understood,
    monitoring_has_oncall,
)


def validate_asset(
    asset: AssetDefinition,
    strict: bool = False,
    source_text: str | None = None,
    path: str | None = None,
    rules: tuple[Rule, ...] = RULES,
    odcs: bool | None = None,
) -> ValidationReport:
    """Run every rule; ``source_text`` adds lines to issues, ``strict`` turns warnings into errors.

    Paths are spelled in the contract's dialect (``odcs``: default, the one it was built from).
    """
    odcs = asset.is_odcs_source if odcs is None else odcs
    single = len(asset.objects) == 1
    issues: list[Issue] = []
    for rule in rules:
        for issue in rule(asset):
            where = in_dialect(issue.path, odcs=odcs, single=single)
            severity = "error" if strict else issue.severity
            line = line_of(source_text, where) if source_text is not None and where else None
            issues.append(Issue(where, issue.message, severity, issue.rule, line))
    return ValidationReport(issues)


def validate_file(file: str | Path, strict: bool = False) -> tuple[AssetDefinition | None, ValidationReport]:
    """Load and validate a contract file; load failures become a one-issue report (no exception)."""
    text = None
    try:
        data, text = read_mapping(file)
        asset = AssetDefinition.from_dict(data, source=str(file))
    except DativoError as exc:
        line = exc.line or (line_of(text, exc.field) if text and exc.field else None)
        return None, ValidationReport([Issue(exc.field or "", exc.message, "error", "load", line)])
    return asset, validate_asset(asset, strict=strict, source_text=text)


def _validator(api_version: str) -> jsonschema_rs.Validator:
    """The official schema of ``api_version`` (v3.0.x: v3.0.2, v3.1.x: v3.1.0, v3.2.x: v3.2.0), compiled."""
    return validator(schema_version(api_version))
