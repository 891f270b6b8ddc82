"""The contract compiled into per-column rules that ingestion enforces.

Rules come from four places in the canonical model:

* field flags: ``required`` (and ``primary_key``) -> required; ``unique`` (and ``primary_key``) -> unique;
* ``logicalTypeOptions``: ``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum`` (a number, or
  ODCS 3.0's boolean modifier), ``minLength``/``maxLength``, ``pattern``;
* field-level ODCS quality: ``rule: nullCheck`` / ``duplicateCount`` / ``validValues``;
* ``data_quality.expectations``: ``not_null``, ``unique``, ``accepted_values`` (``values``),
  ``regex``/``pattern`` (``pattern``), ``between``/``range`` (``min``/``max``), ``length``
  (``min_length``/``max_length``), and their Great Expectations spellings.

Anything else (e.g. a SQL ``query`` rule, ``rowCount``, an expectation on a column the schema does not
declare) is not enforced row by row; it is listed in :attr:`RuleSet.warnings` instead of silently
dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dativo_ingest.ingest.casting import try_cast
from dativo_ingest.ingest.schema import arrow_field, contract_schema

_NOT_NULL = {"not_null", "notnull", "expect_column_values_to_not_be_null", "required"}
_UNIQUE = {"unique", "expect_column_values_to_be_unique"}
_ACCEPTED = {"accepted_values", "expect_column_values_to_be_in_set", "in_set", "valid_values"}
_PATTERN = {"regex", "pattern", "expect_column_values_to_match_regex"}
_RANGE = {"between", "range", "expect_column_values_to_be_between"}
_LENGTH = {"length", "expect_column_value_lengths_to_be_between"}


@dataclass
class ColumnRules:
    """What one column must satisfy."""

    name: str
    type: pa.DataType
    required: bool = False
    unique: bool = False
    accepted: list[Any] | None = None
    pattern: str | None = None
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
        checks += ["pattern"] if self.pattern else []
        checks += ["minimum"] if self.minimum is not None else []
        checks += ["maximum"] if self.maximum is not None else []
        checks += ["min_length"] if self.min_length is not None else []
        checks += ["max_length"] if self.max_length is not None else []
        checks += ["unique"] if self.unique else []
        return [f"{check}:{self.name}" for check in checks]


@dataclass
class RuleSet:
    """Every column's rules, the target Arrow schema and what could not be enforced."""

    columns: list[ColumnRules]
    schema: pa.Schema
    warnings: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnRules | None:
        return next((c for c in self.columns if c.name == name), None)

    def rule_names(self) -> list[str]:
        return [name for column in self.columns for name in column.names()]

    @property
    def unique_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.unique]


def compile_rules(asset: Any) -> RuleSet:
    """The rules of ``asset`` (an :class:`~dativo_ingest.config.AssetDefinition`)."""
    schema = contract_schema(asset)
    warnings: list[str] = []
    columns = []
    for contract_field in asset.fields:
        arrow = arrow_field(contract_field)
        rules = ColumnRules(
            name=contract_field.name,
            type=arrow.type,
            required=bool(contract_field.required or contract_field.primary_key),
            unique=bool(contract_field.unique or contract_field.primary_key),
        )
        _apply_options(rules, contract_field.logical_type_options or {}, warnings)
        for quality in contract_field.quality or []:
            _apply_quality(rules, quality, warnings)
        columns.append(rules)
    by_name = {c.name: c for c in columns}
    for expectation in asset.expectations:
        _apply_expectation(by_name, expectation, warnings)
    for rules in columns:
        _cast_bounds(rules, warnings)
    return RuleSet(columns=columns, schema=schema, warnings=warnings)


def _apply_options(rules: ColumnRules, options: dict[str, Any], warnings: list[str]) -> None:
    for key in ("minimum", "maximum"):
        if options.get(key) is not None:
            setattr(rules, key, options[key])
    for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = options.get(key)
        if isinstance(value, bool):
            setattr(rules, f"exclusive_{bound}", value)
        elif value is not None:
            setattr(rules, bound, value)
            setattr(rules, f"exclusive_{bound}", True)
    if options.get("minLength") is not None:
        rules.min_length = int(options["minLength"])
    if options.get("maxLength") is not None:
        rules.max_length = int(options["maxLength"])
    if options.get("pattern"):
        rules.pattern = str(options["pattern"])
    if options.get("format") and options["format"] not in ("date", "date-time", "uuid"):
        warnings.append(f"{rules.name}: format {options['format']!r} is not checked during ingestion")


def _apply_quality(rules: ColumnRules, quality: dict[str, Any], warnings: list[str]) -> None:
    rule = str(quality.get("rule") or quality.get("type") or "")
    if rule == "nullCheck":
        rules.required = True
    elif rule == "duplicateCount":
        rules.unique = True
    elif rule == "validValues" and isinstance(quality.get("validValues"), list):
        rules.accepted = list(quality["validValues"])
    else:
        warnings.append(f"{rules.name}: quality rule {rule or quality!r} is not enforced row by row")


def _apply_expectation(by_name: dict[str, ColumnRules], expectation: Any, warnings: list[str]) -> None:
    kind = str(expectation.type).lower()
    extra = dict(expectation.model_extra or {})
    column = expectation.column or extra.get("field")
    rules = by_name.get(column) if column else None
    if rules is None:
        where = f"column {column!r} is not in the schema" if column else "it names no column"
        warnings.append(f"expectation {kind}: not enforced, {where}")
        return
    if kind in _NOT_NULL:
        rules.required = True
    elif kind in _UNIQUE:
        rules.unique = True
    elif kind in _ACCEPTED:
        values = expectation.values if expectation.values is not None else extra.get("value_set")
        if values is None:
            warnings.append(f"expectation {kind} on {column}: no values given")
        else:
            rules.accepted = list(values)
    elif kind in _PATTERN:
        pattern = extra.get("pattern") or extra.get("regex")
        if pattern:
            rules.pattern = str(pattern)
        else:
            warnings.append(f"expectation {kind} on {column}: no pattern given")
    elif kind in _RANGE:
        low = extra.get("min", extra.get("min_value"))
        high = extra.get("max", extra.get("max_value"))
        rules.minimum = low if low is not None else rules.minimum
        rules.maximum = high if high is not None else rules.maximum
    elif kind in _LENGTH:
        low = extra.get("min_length", extra.get("min_value"))
        high = extra.get("max_length", extra.get("max_value"))
        rules.min_length = int(low) if low is not None else rules.min_length
        rules.max_length = int(high) if high is not None else rules.max_length
    else:
        warnings.append(f"expectation {kind} on {column}: not enforced row by row")


def _cast_bounds(rules: ColumnRules, warnings: list[str]) -> None:
    """Bounds and accepted values converted to the column's type (a bound that cannot be is dropped)."""
    comparable = not (pa.types.is_struct(rules.type) or pa.types.is_list(rules.type))
    for key in ("minimum", "maximum"):
        value = getattr(rules, key)
        if value is None:
            continue
        converted = _convert(value, rules.type) if comparable else None
        if converted is None:
            warnings.append(f"{rules.name}: {key} {value!r} does not fit type {rules.type}; not enforced")
        setattr(rules, key, converted)
    if rules.accepted is not None:
        converted = [_convert(v, rules.type) for v in rules.accepted if v is not None]
        rules.accepted = [v for v in converted if v is not None]


def _convert(value: Any, target: pa.DataType) -> Any:
    source = pa.array([value if not isinstance(value, bool) else str(value).lower()])
    converted, failed = try_cast(source, target)
    if failed is not None:
        return None
    return converted[0]
