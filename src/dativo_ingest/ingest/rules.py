"""The contract's checks (:func:`~dativo_ingest.odcs.quality.contract_checks`) as per-column rules that
ingestion enforces row by row.

Row-level checks become :class:`ColumnRules` (several checks of one kind on a column combine: the
tightest bounds, the values every list accepts, every pattern); checks of severity ``warning`` are
evaluated the same way but only counted (``warn:<rule>:<column>``), never quarantined. Table-level checks
(row counts, metrics over the table, SQL rules, relationships to other tables) cannot judge single rows
during one run: each is listed in :attr:`RuleSet.warnings`, naming ingestion, and left to dbt and
``contract test``. Nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dativo_ingest.errors import ContractValidationError
from dativo_ingest.ingest.casting import try_cast
from dativo_ingest.ingest.schema import arrow_field, contract_schema
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.quality import (
    AcceptedValues,
    Check,
    ForbiddenValues,
    Length,
    NotNull,
    Pattern,
    Range,
    Relationship,
    Unique,
    UniqueKey,
    contract_checks,
)

#: Prefix of the rule names of warning-severity checks (counted, never quarantined).
ADVISORY = "warn:"


@dataclass
class ColumnRules:
    """What one column must satisfy."""

    name: str
    type: pa.DataType
    required: bool = False
    unique: bool = False
    accepted: list[Any] | None = None
    forbidden: list[Any] | None = None
    patterns: list[str] = field(default_factory=list)
    minimum: Any = None
    maximum: Any = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    min_length: int | None = None
    max_length: int | None = None

    def names(self) -> list[str]:
        """Rule identifiers enforced on this column (``required:email``, ...)."""
        checks = ["type"]
        checks += ["required"] if self.required else []
        checks += ["accepted_values"] if self.accepted is not None else []
        checks += ["forbidden_values"] if self.forbidden is not None else []
        checks += ["pattern"] if self.patterns else []
        checks += ["minimum"] if self.minimum is not None else []
        checks += ["maximum"] if self.maximum is not None else []
        checks += ["min_length"] if self.min_length is not None else []
        checks += ["max_length"] if self.max_length is not None else []
        checks += ["unique"] if self.unique else []
        return [f"{check}:{self.name}" for check in checks]

    @property
    def has_value_rules(self) -> bool:
        """True when a rule other than the type applies (advisory sets are kept only then)."""
        return len(self.names()) > 1


@dataclass
class RuleSet:
    """Every column's rules, the target Arrow schema and what ingestion does not enforce (and why)."""

    columns: list[ColumnRules]
    schema: pa.Schema
    warnings: list[str] = field(default_factory=list)
    #: Warning-severity rules per column (evaluated and counted, never quarantined).
    advisory: dict[str, ColumnRules] = field(default_factory=dict)
    #: Composite keys: rows must be unique over these columns together (``unique:a+b``).
    unique_keys: list[tuple[str, ...]] = field(default_factory=list)

    def column(self, name: str) -> ColumnRules | None:
        return next((c for c in self.columns if c.name == name), None)

    def rule_names(self) -> list[str]:
        names = [name for column in self.columns for name in column.names()]
        return names + [f"unique:{'+'.join(key)}" for key in self.unique_keys]

    @property
    def unique_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.unique]


def compile_rules(asset: AssetDefinition) -> RuleSet:
    """The rules of ``asset`` that ingestion enforces, built from its check list."""
    schema = contract_schema(asset)
    warnings: list[str] = []
    columns = {f.name: ColumnRules(name=f.name, type=arrow_field(f).type) for f in asset.fields}
    advisory = {name: ColumnRules(name=name, type=rules.type) for name, rules in columns.items()}
    checks = contract_checks(asset)
    warnings += [f"{note.path}: {note.message}" for note in checks.unsupported]
    unique_keys: list[tuple[str, ...]] = []
    for check in checks:
        where = f"{check.kind} on {check.column or 'the table'} ({check.origin.path})"
        if isinstance(check, UniqueKey):
            unique_keys.append(check.columns)
            continue
        if isinstance(check, Relationship):
            warnings.append(f"{where}: not enforced during ingestion (it reads another table); dbt checks it")
            continue
        if not check.row_level or check.column is None:
            warnings.append(f"{where}: not enforced during ingestion (a table-level check); dbt checks it")
            continue
        if check.severity == "warning" and isinstance(check, Unique):
            warnings.append(f"{where}: a warning-severity unique check is not counted during ingestion")
            continue
        target = advisory if check.severity == "warning" else columns
        _apply(target[check.column], check, warnings, where)
    for rules in [*columns.values(), *advisory.values()]:
        _cast_bounds(rules, warnings)
    kept = {name: rules for name, rules in advisory.items() if rules.has_value_rules}
    for rules in [*columns.values(), *kept.values()]:
        _check_patterns(asset, rules)
    return RuleSet(
        columns=list(columns.values()),
        schema=schema,
        warnings=warnings,
        advisory=kept,
        unique_keys=unique_keys,
    )


def _check_patterns(asset: AssetDefinition, rules: ColumnRules) -> None:
    """Every pattern compiles in the engine that checks it (RE2, as in DuckDB): refused up front, not
    half-way through a run."""
    for pattern in rules.patterns:
        try:
            pc.match_substring_regex(pa.array([""]), pattern)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ContractValidationError(
                f"contract {asset.id or asset.object_name}: pattern {pattern!r} on column {rules.name} "
                f"cannot be checked (RE2 has no lookaround or backreferences): {exc}",
                field=rules.name,
            ) from None


def _apply(rules: ColumnRules, check: Check, warnings: list[str], where: str) -> None:
    """Tighten ``rules`` by one row-level check."""
    if isinstance(check, NotNull):
        rules.required = True
    elif isinstance(check, Unique):
        rules.unique = True
    elif isinstance(check, AcceptedValues):
        values = list(check.values)
        rules.accepted = values if rules.accepted is None else [v for v in rules.accepted if v in values]
    elif isinstance(check, ForbiddenValues):
        rules.forbidden = [*(rules.forbidden or []), *check.values]
    elif isinstance(check, Pattern):
        if check.pattern not in rules.patterns:
            rules.patterns.append(check.pattern)
    elif isinstance(check, Range):
        _tighten_range(rules, check, warnings)
    elif isinstance(check, Length):
        if check.minimum is not None:
            rules.min_length = max(check.minimum, rules.min_length or 0)
        if check.maximum is not None:
            rules.max_length = (
                check.maximum if rules.max_length is None else min(check.maximum, rules.max_length)
            )
    else:  # a new row-level kind without an ingestion rule yet
        warnings.append(f"{where}: not enforced during ingestion")


def _tighten_range(rules: ColumnRules, check: Range, warnings: list[str]) -> None:
    comparable = not (pa.types.is_struct(rules.type) or pa.types.is_list(rules.type))
    for value, exclusive, side in (
        (check.minimum, check.min_exclusive, "minimum"),
        (check.maximum, check.max_exclusive, "maximum"),
    ):
        if value is None:
            continue
        converted = _convert(value, rules.type) if comparable else None
        if converted is None:
            warnings.append(f"{rules.name}: {side} {value!r} does not fit type {rules.type}; not enforced")
            continue
        current = getattr(rules, side)
        if current is None or _tighter(
            converted, exclusive, current, getattr(rules, f"exclusive_{side}"), side
        ):
            setattr(rules, side, converted)
            setattr(rules, f"exclusive_{side}", exclusive)


def _tighter(new: pa.Scalar, new_exclusive: bool, old: pa.Scalar, old_exclusive: bool, side: str) -> bool:
    a, b = new.as_py(), old.as_py()
    if a == b:
        return new_exclusive and not old_exclusive
    return bool(a > b) if side == "minimum" else bool(a < b)


def _cast_bounds(rules: ColumnRules, warnings: list[str]) -> None:
    """Accepted and forbidden values converted to the column's type (values that cannot be are dropped)."""
    for key in ("accepted", "forbidden"):
        values = getattr(rules, key)
        if values is not None:
            converted = [_convert(v, rules.type) for v in values if v is not None]
            setattr(rules, key, [v for v in converted if v is not None])


def _convert(value: Any, target: pa.DataType) -> Any:
    source = pa.array([value if not isinstance(value, bool) else str(value).lower()])
    converted, failed = try_cast(source, target)
    if failed is not None:
        return None
    return converted[0]
