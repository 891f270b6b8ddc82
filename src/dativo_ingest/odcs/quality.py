"""A contract's quality checks in one neutral vocabulary: every way of writing a check, read once.

:func:`contract_checks` turns a contract into a list of small frozen :class:`Check` values, each with a
``kind``, the column it checks (None for the table), typed arguments, a severity and where it was written
(:class:`Origin`: model path, the form as written, line when the source text is given). It reads:

* field flags: ``required`` -> :class:`NotNull`; ``unique`` -> :class:`Unique`; ``primaryKey`` -> both;
* ``logicalTypeOptions``: ``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum`` (a number, or
  ODCS 3.0's boolean modifier) -> :class:`Range`; ``minLength``/``maxLength`` -> :class:`Length`;
  ``pattern`` -> :class:`Pattern`; ``format`` (email, uuid, date, date-time, ...) on a text column ->
  :class:`Pattern`; ``enum`` -> :class:`AcceptedValues`;
* dativo ``data_quality.expectations`` with their aliases (:data:`EXPECTATION_KINDS`: Great Expectations
  names, ``between``, ``pattern``, ``in_set``, ``min_value``/``max_value``, ``min_length`` ...);
* ODCS ``quality`` rules on a property or an object: library metrics (``nullValues``, ``missingValues``,
  ``invalidValues``, ``duplicateValues``, ``rowCount``; v3.0 ``rule: nullCheck`` ...) with the ODCS
  operators (:data:`OPERATORS`), ``sql`` rules, and ``text`` rules (documentation: no check).

A count metric whose threshold allows no failing row (``mustBe: 0``, or no operator, which ODCS 3.0 reads as
"none found") is the row-level check it stands for (``nullValues`` -> :class:`NotNull`); other thresholds
stay table-level metrics (:class:`ColumnMetric`, :class:`RowCount`, :class:`SqlCheck`). A form that is
not understood becomes an :class:`Unsupported` note saying it is enforced nowhere; nothing is dropped
silently. Validation, ODCS conversion, ingestion, dbt generation and the policy views consume this list;
none of them parses expectations itself.

This module is pure: no I/O, no engine.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from dativo_ingest.odcs.paths import in_dialect
from dativo_ingest.odcs.types import NUMERIC_TYPES
from dativo_ingest.yamlio import line_of

if TYPE_CHECKING:  # the model imports this module's consumers; checks need only its attributes
    from dativo_ingest.odcs.model import AssetDefinition, Expectation, SchemaField

Severity = Literal["error", "warning"]
#: An ODCS threshold: ``(operator, value)`` pairs that must all hold (``(("mustBeLessThan", 5),)``).
Threshold = tuple[tuple[str, Any], ...]

#: The ODCS comparison operators, with the SQL they mean (``check_value <op> value``).
OPERATORS: dict[str, str] = {
    "mustBe": "=",
    "mustNotBe": "<>",
    "mustBeGreaterThan": ">",
    "mustBeGreaterOrEqualTo": ">=",
    "mustBeLessThan": "<",
    "mustBeLessOrEqualTo": "<=",
    "mustBeBetween": "between",
    "mustNotBeBetween": "not between",
}
#: Spellings seen in the wild for the ODCS operators.
_OPERATOR_ALIASES = {
    "mustBeGreaterThanOrEqualTo": "mustBeGreaterOrEqualTo",
    "mustBeLessThanOrEqualTo": "mustBeLessOrEqualTo",
}
#: Expectation ``type`` (lower case) -> the check kind it is (dativo, Great Expectations and dbt names).
EXPECTATION_KINDS: dict[str, str] = {
    **dict.fromkeys(("not_null", "notnull", "required", "expect_column_values_to_not_be_null"), "not_null"),
    **dict.fromkeys(("unique", "expect_column_values_to_be_unique"), "unique"),
    **dict.fromkeys(
        ("accepted_values", "in_set", "valid_values", "expect_column_values_to_be_in_set"), "accepted_values"
    ),
    **dict.fromkeys(
        ("not_accepted_values", "not_in_set", "expect_column_values_to_not_be_in_set"), "forbidden_values"
    ),
    **dict.fromkeys(("regex", "pattern", "matches", "expect_column_values_to_match_regex"), "regex"),
    **dict.fromkeys(("range", "between", "expect_column_values_to_be_between"), "range"),
    **dict.fromkeys(
        ("length", "expect_column_value_lengths_to_be_between", "expect_column_value_lengths_to_equal"),
        "length",
    ),
    **dict.fromkeys(("relationships", "foreign_key"), "relationships"),
    **dict.fromkeys(("row_count", "expect_table_row_count_to_be_between"), "row_count"),
    **dict.fromkeys(("sql", "custom_sql"), "sql"),
}
#: ODCS v3.0 library rule names -> the v3.1 metric they are.
RULE_METRICS = {
    "nullCheck": "nullValues",
    "missingCheck": "missingValues",
    "validValues": "invalidValues",
    "duplicateCount": "duplicateValues",
    "rowCount": "rowCount",
}
#: ``logicalTypeOptions.format`` names checked as a pattern on text columns.
FORMAT_PATTERNS = {
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "date-time": (
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?"
        r"(Z|[+-][0-9]{2}:?[0-9]{2})?$"
    ),
    "time": r"^[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?$",
    "ipv4": r"^(([0-9]{1,2}|1[0-9]{2}|2[0-4][0-9]|25[0-5])[.]){3}([0-9]{1,2}|1[0-9]{2}|2[0-4][0-9]|25[0-5])$",
    "uri": r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$",
}
#: How a SQL rule names the checked table: ``{object}``, ``{table}``, ``{model}`` (also ``${...}``),
#: or dbt's ``{{ model }}`` / ``{{ this }}``.
TABLE_PLACEHOLDER = re.compile(r"\{\{-?\s*(?:model|this)\s*-?\}\}|\$?\{(?:object|table|model)\}")
_OTHER_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\$\{[^{}]*\}|\{[A-Za-z_]\w*\}", re.S)
#: Types whose values are text (a ``format`` there is a pattern; elsewhere it describes serialisation).
_TEXT_TYPES = frozenset({"string", "text", "varchar", "char", None})
#: ``logicalTypeOptions`` that describe a value without constraining it.
_DESCRIPTIVE_OPTIONS = frozenset({"timezone", "defaultTimezone", "precision", "scale", "format"})
_WARN_SEVERITIES = frozenset({"warn", "warning", "info"})
_KNOWN_SEVERITIES = _WARN_SEVERITIES | {"error", "critical", "fatal"}
#: Keys every expectation may carry, and the keys each kind reads.
_COMMON_KEYS = frozenset({"type", "column", "severity", "description", "name", "dimension", "tags", "field"})
_BOUND_KEYS = frozenset({"min", "max", "min_value", "max_value"})
_EXPECTATION_KEYS: dict[str, frozenset[str]] = {
    "not_null": frozenset(),
    "unique": frozenset(),
    "accepted_values": frozenset({"values", "value_set"}),
    "forbidden_values": frozenset({"values", "value_set"}),
    "regex": frozenset({"pattern", "regex"}),
    "range": _BOUND_KEYS | {"strict_min", "strict_max"},
    "length": _BOUND_KEYS | {"min_length", "max_length", "value"},
    "relationships": frozenset({"to", "field"}),
    "row_count": _BOUND_KEYS,
    "sql": frozenset({"query", *OPERATORS, *_OPERATOR_ALIASES}),
}
#: Keys an ODCS quality rule may carry (v3.0 and v3.1 spellings).
_QUALITY_KEYS = frozenset(
    {
        "id",
        "authoritativeDefinitions",
        "businessImpact",
        "customProperties",
        "description",
        "dimension",
        "method",
        "name",
        "schedule",
        "scheduler",
        "severity",
        "tags",
        "type",
        "unit",
        "metric",
        "rule",
        "arguments",
        "validValues",
        "query",
        "engine",
        "implementation",
        "column",
        *OPERATORS,
        *_OPERATOR_ALIASES,
    }
)


# ----- the vocabulary ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where a check was written: model path (``schema[0].properties[1].required``), form, line."""

    path: str
    form: str
    line: int | None = None


@dataclass(frozen=True, kw_only=True)
class Check:
    """One check a contract asks for. ``column`` is None for a table-level check."""

    kind: ClassVar[str] = ""
    #: True when the check judges single rows (ingestion can quarantine the rows that fail it).
    row_level: ClassVar[bool] = True
    column: str | None = None
    severity: Severity = "error"
    origin: Origin = field(default=Origin("", ""), compare=False)

    def arguments(self) -> dict[str, Any]:
        """The typed arguments, by name (column, severity and origin left out)."""
        skip = {"column", "severity", "origin"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


@dataclass(frozen=True, kw_only=True)
class NotNull(Check):
    kind: ClassVar[str] = "not_null"


@dataclass(frozen=True, kw_only=True)
class Unique(Check):
    kind: ClassVar[str] = "unique"


@dataclass(frozen=True, kw_only=True)
class UniqueKey(Check):
    """Rows are unique over several columns together (a composite primary key, by ``primaryKeyPosition``)."""

    kind: ClassVar[str] = "unique_key"
    columns: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AcceptedValues(Check):
    kind: ClassVar[str] = "accepted_values"
    values: tuple[Any, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ForbiddenValues(Check):
    """Values that count as missing or wrong (ODCS ``missingValues`` other than null)."""

    kind: ClassVar[str] = "forbidden_values"
    values: tuple[Any, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Range(Check):
    kind: ClassVar[str] = "range"
    minimum: Any = None
    maximum: Any = None
    min_exclusive: bool = False
    max_exclusive: bool = False


@dataclass(frozen=True, kw_only=True)
class Length(Check):
    kind: ClassVar[str] = "length"
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, kw_only=True)
class Pattern(Check):
    """Values match a regular expression (searched, as ``regexp_matches`` and Arrow do)."""

    kind: ClassVar[str] = "regex"
    pattern: str = ""


@dataclass(frozen=True, kw_only=True)
class Relationship(Check):
    """Every value exists in another table's column (checked where both tables are: dbt)."""

    kind: ClassVar[str] = "relationships"
    row_level: ClassVar[bool] = False
    to: str = ""
    field: str = ""


@dataclass(frozen=True, kw_only=True)
class RowCount(Check):
    kind: ClassVar[str] = "row_count"
    row_level: ClassVar[bool] = False
    threshold: Threshold = ()


@dataclass(frozen=True, kw_only=True)
class ColumnMetric(Check):
    """A count (or percentage) of failing rows compared with a threshold: ``null_values``,
    ``missing_values``, ``invalid_values`` (against ``values`` or ``pattern``), ``duplicate_values``
    (over ``columns`` when several form the key)."""

    kind: ClassVar[str] = "metric"
    row_level: ClassVar[bool] = False
    metric: Literal["null_values", "missing_values", "invalid_values", "duplicate_values"] = "null_values"
    threshold: Threshold = ()
    unit: Literal["rows", "percent"] = "rows"
    values: tuple[Any, ...] | None = None
    pattern: str | None = None
    columns: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SqlCheck(Check):
    """A SQL query over the table (``{object}``/``{{ model }}`` names it); its single value is compared
    with ``threshold``, or, without one, every row it returns is a failure."""

    kind: ClassVar[str] = "sql"
    row_level: ClassVar[bool] = False
    query: str = ""
    threshold: Threshold = ()

    def query_for(self, table: str) -> str:
        """The query with its table placeholder replaced by ``table`` and no trailing semicolon."""
        return TABLE_PLACEHOLDER.sub(lambda _: table, self.query.strip().rstrip(";").rstrip())


@dataclass(frozen=True)
class Unsupported:
    """A check form that is enforced nowhere: not understood (``warning``), or a known form missing what
    it needs (``error``: validation refuses it)."""

    path: str
    message: str
    severity: Severity = "warning"
    line: int | None = None


@dataclass(frozen=True)
class CheckList:
    """Every check of a contract, deduplicated in a stable order, and the forms enforced nowhere."""

    checks: tuple[Check, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()
    #: Every check as written, duplicates of earlier ones included (each keeps its own origin).
    written: tuple[Check, ...] = ()

    def __iter__(self) -> Iterator[Check]:
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)

    def for_column(self, name: str) -> list[Check]:
        return [c for c in self.checks if c.column == name]

    def table_level(self) -> list[Check]:
        return [c for c in self.checks if c.column is None]

    def written_at(self, path: str) -> list[Check]:
        """The checks a form at ``path`` produced (``data_quality.expectations[2]``)."""
        return [c for c in self.written if c.origin.path == path or c.origin.path.startswith(path + ".")]


# ----- reading a contract ---------------------------------------------------------------------------


def contract_checks(asset: AssetDefinition, source_text: str | None = None) -> CheckList:
    """The checks ``asset`` asks for on its primary object; paths are spelled in the contract's own
    dialect (``schema[1].required`` in the dativo format), and ``source_text`` adds the line of each."""
    reader = _Reader({f.name: f.type for f in asset.fields})
    reader.read(asset)
    odcs, single = asset.is_odcs_source, len(asset.objects) == 1

    def spelled(path: str) -> str:
        return in_dialect(path, odcs=odcs, single=single) if path else path

    def line(path: str) -> int | None:
        return line_of(source_text, path) if source_text is not None and path else None

    written = [
        replace(c, origin=replace(c.origin, path=spelled(c.origin.path), line=line(spelled(c.origin.path))))
        for c in reader.written
    ]
    unsupported = [replace(u, path=spelled(u.path), line=line(spelled(u.path))) for u in reader.unsupported]
    checks = tuple(dict.fromkeys(written))  # equal checks (origin aside) once, the first kept
    return CheckList(checks, tuple(unsupported), tuple(written))


def expectation_checks(expectation: Expectation, path: str = "") -> CheckList:
    """The checks one dativo expectation stands for, on its own column (for readers that compare
    expectations one by one, such as breaking-change classification)."""
    reader = _Reader({expectation.column: None} if expectation.column else {})
    reader._expectation(expectation, path)
    return CheckList(tuple(dict.fromkeys(reader.written)), tuple(reader.unsupported), tuple(reader.written))


class _Reader:
    """Collects the checks of one contract in the order they are written."""

    def __init__(self, columns: dict[str, str | None]) -> None:
        self.columns = columns  # name -> dativo type (None when unknown)
        self.written: list[Check] = []
        self.unsupported: list[Unsupported] = []
        self.composite = False

    def add(self, check: Check) -> None:
        problem = _malformed(check, self.columns.get(check.column) if check.column else None)
        if problem:
            self.skip(check.origin.path, problem, malformed=True)
        else:
            self.written.append(check)

    def skip(self, path: str, message: str, *, malformed: bool = False) -> None:
        severity: Severity = "error" if malformed else "warning"
        self.unsupported.append(Unsupported(path, f"{message}; enforced nowhere", severity))

    def warn(self, path: str, message: str) -> None:
        """A problem in how a check is written that does not stop it being enforced."""
        self.unsupported.append(Unsupported(path, message, "warning"))

    def _unknown_keys(self, path: str, what: str, keys: set[str], known: frozenset[str]) -> None:
        for key in sorted(keys - known):
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.warn(f"{path}.{key}", f"'{key}' is not a key of {what}{hint}; it is ignored")

    def _severity(self, value: Any, path: str) -> Severity:
        if value is not None and str(value).lower() not in _KNOWN_SEVERITIES:
            self.warn(f"{path}.severity", f"severity '{value}' is not error, warning or info; read as error")
        return _severity(value)

    def read(self, asset: AssetDefinition) -> None:
        keys = [(i, f) for i, f in enumerate(asset.fields) if f.primary_key]
        self.composite = len(keys) > 1
        for i, top in enumerate(asset.fields):
            self._field(top, f"schema[0].properties[{i}]")
        if self.composite:
            ordered = sorted(keys, key=lambda k: (k[1].primary_key_position or 1_000_000, k[0]))
            origin = Origin(f"schema[0].properties[{ordered[0][0]}].primaryKey", "primaryKey (composite)")
            self.add(UniqueKey(columns=tuple(f.name for _, f in ordered), origin=origin))
        obj = asset.primary_object
        for i, rule in enumerate(obj.quality if obj is not None else []):
            self._quality(rule, None, f"schema[0].quality[{i}]")
        for i, expectation in enumerate(asset.expectations):
            self._expectation(expectation, f"data_quality.expectations[{i}]")

    # ----- fields ---------------------------------------------------------------------------------
    def _field(self, node: SchemaField, path: str, nested: str | None = None) -> None:
        name = nested or node.name
        if nested is not None and _has_checks(node):
            self.skip(path, f"checks on nested field '{name}' are not supported yet")
            return
        if node.primary_key:
            self.add(NotNull(column=name, origin=Origin(f"{path}.primaryKey", "primaryKey")))
            if not (nested is None and self.composite):  # a part of a composite key is not unique alone
                self.add(Unique(column=name, origin=Origin(f"{path}.primaryKey", "primaryKey")))
        if node.required:
            self.add(NotNull(column=name, origin=Origin(f"{path}.required", "required")))
        if node.unique:
            self.add(Unique(column=name, origin=Origin(f"{path}.unique", "unique")))
        self._options(node, name, f"{path}.logicalTypeOptions")
        for j, rule in enumerate(node.quality):
            self._quality(rule, name, f"{path}.quality[{j}]")
        for j, child in enumerate(node.properties):
            self._field(child, f"{path}.properties[{j}]", f"{name}.{child.name}")
        if node.items is not None:
            self._field(node.items, f"{path}.items", f"{name}[]")

    def _options(self, node: SchemaField, name: str, path: str) -> None:
        options = node.logical_type_options or {}
        low, high = options.get("minimum"), options.get("maximum")
        low_x, high_x = options.get("exclusiveMinimum"), options.get("exclusiveMaximum")
        low_exclusive, high_exclusive = low_x is True, high_x is True
        if low_x is not None and not isinstance(low_x, bool):
            low, low_exclusive = low_x, True
        if high_x is not None and not isinstance(high_x, bool):
            high, high_exclusive = high_x, True
        if low is not None or high is not None:
            key = "minimum" if low is not None else "maximum"
            origin = Origin(f"{path}.{key}", f"logicalTypeOptions.{key}")
            self.add(
                Range(
                    column=name,
                    minimum=low,
                    maximum=high,
                    min_exclusive=low_exclusive,
                    max_exclusive=high_exclusive,
                    origin=origin,
                )
            )
        if options.get("minLength") is not None or options.get("maxLength") is not None:
            key = "minLength" if options.get("minLength") is not None else "maxLength"
            length = _length(options.get("minLength"), options.get("maxLength"))
            if length is None:
                self.skip(f"{path}.{key}", "minLength/maxLength must be whole numbers", malformed=True)
            else:
                self.add(
                    replace(length, column=name, origin=Origin(f"{path}.{key}", f"logicalTypeOptions.{key}"))
                )
        if options.get("pattern"):
            origin = Origin(f"{path}.pattern", "logicalTypeOptions.pattern")
            self.add(Pattern(column=name, pattern=str(options["pattern"]), origin=origin))
        if options.get("enum"):
            origin = Origin(f"{path}.enum", "logicalTypeOptions.enum")
            self.add(AcceptedValues(column=name, values=_freeze(options["enum"]), origin=origin))
        fmt = options.get("format")
        if fmt and node.type in _TEXT_TYPES:
            if str(fmt).lower() in FORMAT_PATTERNS:
                origin = Origin(f"{path}.format", "logicalTypeOptions.format")
                self.add(Pattern(column=name, pattern=FORMAT_PATTERNS[str(fmt).lower()], origin=origin))
            else:
                known = ", ".join(sorted(FORMAT_PATTERNS))
                self.skip(f"{path}.format", f"format '{fmt}' is not a known format ({known})")
        for key in sorted(set(options) - _DESCRIPTIVE_OPTIONS - _UNDERSTOOD_OPTIONS):
            self.skip(f"{path}.{key}", f"logicalTypeOptions.{key} is not a check dativo knows")

    # ----- ODCS quality rules ----------------------------------------------------------------------
    def _quality(self, rule: Any, column: str | None, path: str) -> None:
        if not isinstance(rule, dict):
            self.skip(path, "a quality rule must be a mapping", malformed=True)
            return
        kind = str(rule.get("type") or "library")
        self._unknown_keys(path, "an ODCS quality rule", set(rule), _QUALITY_KEYS)
        severity = self._severity(rule.get("severity"), path)
        if kind == "text":
            return  # documentation, for people
        if kind == "sql":
            self._sql(rule, column, path, severity, "quality sql")
            return
        if kind == "custom":
            engine = rule.get("engine") or "unnamed"
            self.skip(path, f"custom quality rule for engine '{engine}' is not run by dativo")
            return
        name = rule.get("metric") or RULE_METRICS.get(str(rule.get("rule")), rule.get("rule"))
        if kind != "library" or not name:
            self.skip(path, f"quality rule of type '{kind}' is not understood")
            return
        threshold = _threshold(rule)
        if threshold is None:
            self.skip(path, "mustBeBetween/mustNotBeBetween need two numbers, smallest first", malformed=True)
            return
        given = rule.get("arguments")
        arguments: dict[str, Any] = given if isinstance(given, dict) else {}
        origin = Origin(path, f"quality {rule.get('metric') or rule.get('rule')}")
        common: dict[str, Any] = {"column": column, "severity": severity, "origin": origin}
        unit = "percent" if str(rule.get("unit", "rows")).lower() == "percent" else "rows"
        if name == "rowCount":
            if not threshold:
                self.skip(path, "rowCount needs an operator (mustBeGreaterThan, ...)", malformed=True)
                return
            self.add(RowCount(threshold=threshold, **{**common, "column": None}))
            return
        if name in ("minCheck", "maxCheck") and column:
            self._bound_rule(name, rule, common, path)
            return
        if name not in ("nullValues", "missingValues", "invalidValues", "duplicateValues"):
            self.skip(path, f"quality metric '{name}' is not understood")
            return
        columns = tuple(str(c) for c in arguments.get("properties") or ())
        if column is None and not columns:
            self.skip(
                path, f"quality metric '{name}' on the object needs arguments.properties", malformed=True
            )
            return
        zero = not threshold or _means_none(threshold, unit)
        rows: list[Check]
        if name == "nullValues":
            self._metric_or_rows(zero, [NotNull(**common)], "null_values", threshold, unit, common)
        elif name == "duplicateValues":
            if columns and column is None and len(columns) == 1:
                column, common = columns[0], {**common, "column": columns[0]}
                columns = ()
            rows = [Unique(**common)] if column and not columns else []
            self._metric_or_rows(
                zero and bool(rows),
                rows,
                "duplicate_values",
                threshold or _ZERO,
                unit,
                common,
                columns=columns,
            )
        elif name == "missingValues":
            missing = _freeze(arguments.get("missingValues", [None]))
            present = tuple(v for v in missing if v is not None)
            rows = [NotNull(**common)] + ([ForbiddenValues(values=present, **common)] if present else [])
            self._metric_or_rows(
                zero, rows, "missing_values", threshold or _ZERO, unit, common, values=missing
            )
        else:
            valid = rule.get("validValues", arguments.get("validValues"))
            pattern = arguments.get("pattern")
            if valid is None and not pattern:
                self.skip(path, "invalidValues needs validValues or arguments.pattern", malformed=True)
                return
            rows = [AcceptedValues(values=_freeze(valid), **common)] if valid is not None else []
            rows += [Pattern(pattern=str(pattern), **common)] if pattern else []
            values = _freeze(valid) if valid is not None else None
            self._metric_or_rows(
                zero,
                rows,
                "invalid_values",
                threshold or _ZERO,
                unit,
                common,
                values=values,
                pattern=str(pattern) if pattern else None,
            )

    def _metric_or_rows(
        self,
        zero: bool,
        rows: list[Check],
        metric: Any,
        threshold: Threshold,
        unit: Any,
        common: dict[str, Any],
        **extra: Any,
    ) -> None:
        """The row-level checks when the threshold allows no failing row, else the metric itself."""
        if zero and rows:
            for check in rows:
                self.add(check)
        else:
            self.add(ColumnMetric(metric=metric, threshold=threshold or _ZERO, unit=unit, **common, **extra))

    def _bound_rule(self, name: str, rule: dict[str, Any], common: dict[str, Any], path: str) -> None:
        """ODCS 3.0's ``minCheck`` / ``maxCheck`` (bound in ``customProperties`` or an operator)."""
        custom = {c.get("property"): c.get("value") for c in rule.get("customProperties") or []}
        key = "min" if name == "minCheck" else "max"
        value = custom.get(key, custom.get("value"))
        if value is None:
            ops = dict(_threshold(rule) or ())
            value = ops.get("mustBeGreaterOrEqualTo" if key == "min" else "mustBeLessOrEqualTo")
        if value is None:
            self.skip(path, f"{name} needs a '{key}' custom property", malformed=True)
            return
        self.add(Range(minimum=value, **common) if key == "min" else Range(maximum=value, **common))

    def _sql(
        self, spec: dict[str, Any], column: str | None, path: str, severity: Severity, form: str
    ) -> None:
        query = spec.get("query")
        if not query:
            self.skip(path, "a sql rule needs a query", malformed=True)
            return
        threshold = _threshold(spec)
        if threshold is None:
            self.skip(path, "mustBeBetween/mustNotBeBetween need two numbers, smallest first", malformed=True)
            return
        unknown = list(
            dict.fromkeys(
                m.group(0) for m in _OTHER_PLACEHOLDER.finditer(TABLE_PLACEHOLDER.sub("", str(query)))
            )
        )
        if unknown:
            self.skip(
                path,
                f"query has unrecognised placeholder(s) {', '.join(unknown)}; name the checked "
                "table with {object}, {table}, {model}, {{ model }} or {{ this }}",
            )
            return
        origin = Origin(path, form)
        self.add(SqlCheck(query=str(query), threshold=threshold, severity=severity, origin=origin))

    # ----- dativo expectations --------------------------------------------------------------------
    def _expectation(self, expectation: Expectation, path: str) -> None:
        written = str(expectation.type)
        kind = EXPECTATION_KINDS.get(written.lower())
        extra = dict(expectation.model_extra or {})
        if kind is None:
            self.skip(f"{path}.type", f"unknown expectation type '{written}'")
            return
        self._unknown_keys(
            path,
            f"a '{written}' expectation",
            {"type", "column", *extra, *(["values"] if expectation.values is not None else [])},
            _COMMON_KEYS | _EXPECTATION_KEYS[kind],
        )
        severity = self._severity(extra.get("severity"), path)
        if kind == "sql":
            self._sql(extra, None, path, severity, f"expectation {written}")
            return
        origin = Origin(path, f"expectation {written}")
        common: dict[str, Any] = {"severity": severity, "origin": origin}
        if kind == "row_count":
            low, high = _first(extra, "min", "min_value"), _first(extra, "max", "max_value")
            if low is None and high is None:
                self.skip(path, f"'{written}' needs min or max", malformed=True)
                return
            threshold = tuple(
                (op, v)
                for op, v in (("mustBeGreaterOrEqualTo", low), ("mustBeLessOrEqualTo", high))
                if v is not None
            )
            self.add(RowCount(threshold=threshold, **common))
            return
        column = expectation.column or (extra.get("field") if kind != "relationships" else None)
        if not column:
            self.skip(f"{path}.column", f"'{written}' needs a column", malformed=True)
            return
        if column not in self.columns:
            self.unsupported.append(
                Unsupported(
                    f"{path}.column", f"column '{column}' is not declared in the schema; enforced nowhere"
                )
            )
            return
        common["column"] = column
        check = self._expectation_check(kind, written, expectation, extra, common)
        if isinstance(check, str):
            self.skip(path, check, malformed=True)
        else:
            self.add(check)

    @staticmethod
    def _expectation_check(
        kind: str, written: str, expectation: Expectation, extra: dict[str, Any], common: dict[str, Any]
    ) -> Check | str:
        """The check an expectation of ``kind`` stands for, or why it cannot be one."""
        if kind == "not_null":
            return NotNull(**common)
        if kind == "unique":
            return Unique(**common)
        if kind in ("accepted_values", "forbidden_values"):
            values = expectation.values if expectation.values is not None else extra.get("value_set")
            if not isinstance(values, list) or not values:
                return f"'{written}' needs values"
            cls = AcceptedValues if kind == "accepted_values" else ForbiddenValues
            return cls(values=_freeze(values), **common)
        if kind == "regex":
            pattern = _first(extra, "pattern", "regex")
            return Pattern(pattern=str(pattern), **common) if pattern else f"'{written}' needs pattern"
        if kind == "range":
            low, high = _first(extra, "min", "min_value"), _first(extra, "max", "max_value")
            if low is None and high is None:
                return f"'{written}' needs min or max"
            return Range(
                minimum=low,
                maximum=high,
                min_exclusive=bool(extra.get("strict_min")),
                max_exclusive=bool(extra.get("strict_max")),
                **common,
            )
        if kind == "length":
            exact = extra.get("value") if written.lower().endswith("_to_equal") else None
            low = exact if exact is not None else _first(extra, "min", "min_length", "min_value")
            high = exact if exact is not None else _first(extra, "max", "max_length", "max_value")
            if low is None and high is None:
                return f"'{written}' needs min or max"
            length = _length(low, high)
            return (
                replace(length, **common)
                if length is not None
                else f"'{written}': lengths must be whole numbers"
            )
        to = extra.get("to")
        target = extra.get("field")
        if not to or not target:
            return f"'{written}' needs to and field"
        return Relationship(to=str(to), field=str(target), **common)


_UNDERSTOOD_OPTIONS = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "enum",
    }
)
_ZERO: Threshold = (("mustBe", 0),)


def _malformed(check: Check, column_type: str | None) -> str | None:
    """Why a check cannot mean anything on its column (None when it can)."""
    if isinstance(check, Range):
        bounds = [b for b in (check.minimum, check.maximum) if b is not None]
        if column_type in NUMERIC_TYPES and any(as_number(b) is None for b in bounds):
            return f"bounds of a {column_type} column must be numbers, got {', '.join(map(repr, bounds))}"
        low, high = as_number(check.minimum), as_number(check.maximum)
        if (
            low is not None
            and high is not None
            and (low > high or (low == high and (check.min_exclusive or check.max_exclusive)))
        ):
            return f"minimum {check.minimum!r} is above maximum {check.maximum!r}: no value can pass"
    if isinstance(check, Length):
        if column_type not in _TEXT_TYPES:
            return f"a length check needs a text column, not {column_type}"
        if check.minimum is not None and check.maximum is not None and check.minimum > check.maximum:
            return f"minimum length {check.minimum} is above maximum {check.maximum}"
    if isinstance(check, Pattern):
        try:
            re.compile(check.pattern)
        except re.error as exc:
            return f"pattern {check.pattern!r} is not a valid regular expression ({exc})"
    return None


def as_number(value: Any) -> float | None:
    """``value`` as a number (numbers and numeric text; booleans and other values are None)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _has_checks(node: SchemaField) -> bool:
    options = set(node.logical_type_options or {}) - _DESCRIPTIVE_OPTIONS
    return bool(node.required or node.unique or node.primary_key or options or node.quality)


def _severity(value: Any) -> Severity:
    return "warning" if str(value or "").lower() in _WARN_SEVERITIES else "error"


def _first(values: dict[str, Any], *keys: str) -> Any:
    return next((values[k] for k in keys if values.get(k) is not None), None)


def _length(low: Any, high: Any) -> Length | None:
    """A length check from whole-number bounds (None when a bound is not a whole number)."""
    whole: list[int | None] = []
    for bound in (low, high):
        number = as_number(bound)
        if bound is not None and (number is None or not number.is_integer()):
            return None
        whole.append(int(number) if number is not None else None)
    return Length(minimum=whole[0], maximum=whole[1])


def _freeze(value: Any) -> Any:
    """Lists as tuples and mappings as sorted item tuples, so checks are hashable."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    return value


def _threshold(spec: dict[str, Any]) -> Threshold | None:
    """The ODCS operators of a rule in a stable order (None when a between operator is malformed)."""
    ops: dict[str, Any] = {}
    for key, value in spec.items():
        name = _OPERATOR_ALIASES.get(key, key)
        if name in OPERATORS:
            if name.endswith("Between"):
                if not isinstance(value, (list, tuple)) or len(value) != 2:
                    return None
                value = tuple(value)
            ops[name] = value
    return tuple((name, ops[name]) for name in OPERATORS if name in ops)


def _means_none(threshold: Threshold, unit: str) -> bool:
    """True when a threshold allows no failing row at all (``mustBe: 0``; in rows, ``mustBeLessThan: 1``)."""
    for op, value in threshold:
        if (op == "mustBe" and value == 0) or (op == "mustBeLessOrEqualTo" and value == 0):
            return True
        if op == "mustBeLessThan" and unit == "rows" and isinstance(value, (int, float)) and 0 < value <= 1:
            return True
        if op == "mustBeBetween" and list(value)[1] == 0:
            return True
    return False
