"""The policy-filtered view of a contract that an AI agent receives (metadata only, never rows).

Pure: from an asset, a policy and a requester to plain JSON-able data. Restricted fields are marked
``restricted`` with their details withheld (``redact``) or left out (``hide``); expectations and checks
(the contract's check list, :mod:`dativo_ingest.odcs.quality`) on them lose their values (``redact``) or
disappear (``hide``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from dativo_ingest.dbt.node_names import default_model_name, default_source_name, object_of
from dativo_ingest.odcs.model import AssetDefinition, SchemaField
from dativo_ingest.odcs.quality import Check, contract_checks
from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.fields import FieldInfo, asset_fields, treatment
from dativo_ingest.sla.rules import SlaSubject

WITHHELD = "withheld by policy"


def _field_entry(info: FieldInfo) -> dict[str, Any]:
    f = info.field
    entry: dict[str, Any] = {
        "name": info.path,
        "type": f.type,
        "description": f.description,
        "required": bool(f.required),
        "unique": bool(f.unique),
        "primary_key": bool(f.primary_key),
        "classification": f.classification.upper() if f.classification else None,
        "tags": list(f.tags),
        "restricted": False,
    }
    if f.physical_name:
        entry["physical_name"] = f.physical_name
    if f.physical_type:
        entry["physical_type"] = f.physical_type
    if f.logical_type_options:
        entry["constraints"] = dict(f.logical_type_options)
    if f.quality:
        entry["quality"] = [dict(q) for q in f.quality]
    if f.examples:
        entry["examples"] = list(f.examples)
    return entry


def _redacted_entry(info: FieldInfo, restricted: frozenset[str]) -> dict[str, Any]:
    hit = sorted(info.labels & restricted)
    return {
        "name": info.path,
        "classification": hit[0] if len(hit) == 1 else hit,
        "restricted": True,
        "reason": f"{WITHHELD} ({', '.join(hit)})",
    }


def schema_view(
    asset: AssetDefinition, policy: PolicyConfig, requester: str, seen: _Treatments | None = None
) -> dict[str, Any]:
    """``fields`` (flat, dotted names), ``field_count`` and ``restricted_fields`` as seen by requester.

    A shown field's examples are withheld when something nested in it is withheld (an example object
    carries its members' values), and each of its quality rules that names a withheld field is
    withheld (``redact``) or left out (``hide``).
    """
    restricted = policy.restricted_for(requester)
    seen = seen or _Treatments(asset, policy, requester)
    fields: list[dict[str, Any]] = []
    marked: list[str] = []
    for info in seen.infos:
        how = seen.how[info.path]
        if how == "show":
            entry = _field_entry(info)
            if seen.any_withheld:
                _withhold_details(entry, info, seen)
            fields.append(entry)
        elif how == "redact":
            fields.append(_redacted_entry(info, restricted))
            marked.append(info.path)
    return {"fields": fields, "field_count": len(fields), "restricted_fields": marked}


def _withhold_details(entry: dict[str, Any], info: FieldInfo, seen: _Treatments) -> None:
    """Drop what a shown field carries about withheld fields (see :func:`schema_view`)."""
    if "examples" in entry and seen.descendants_withheld(info.path):
        entry["examples"] = WITHHELD if seen.withheld_mode == "redact" else None
        if entry["examples"] is None:
            del entry["examples"]
    if "quality" in entry:
        rules = []
        for rule in entry["quality"]:
            how = seen.of_text(rule)
            if how == "show":
                rules.append(rule)
            elif how == "redact":
                rules.append({"type": rule.get("type"), "restricted": True})
        entry["quality"] = rules


def _column_parts(column: str) -> list[str]:
    """An expectation's column as lower-case path parts (``items[].Note`` -> ``["items", "note"]``)."""
    text = column.replace("[]", "").replace('"', "").replace("`", "").strip().lower()
    return [p for p in text.split(".") if p]


def _names(f: SchemaField) -> set[str]:
    return {n.lower() for n in (f.name, f.physical_name) if n}


def _match(fields: list[SchemaField], parts: list[str], prefix: str = "") -> list[str]:
    """Logical paths of the fields ``parts`` can name: logical or physical names, any case, nested
    members by dotted path, array elements with or without the element's own name."""
    if not parts:
        return []
    head, rest = parts[0], parts[1:]
    found: list[str] = []
    for f in fields:
        if head not in _names(f):
            continue
        path = f"{prefix}{f.name}"
        if not rest:
            found.append(path)
            continue
        found += _match(list(f.properties), rest, f"{path}.")
        if f.items is not None and f.items.name:
            found += _match([f.items], rest, f"{path}[].")  # items.item.member
            found += _match(list(f.items.properties), rest, f"{path}[].{f.items.name}.")  # items.member
    return found


_STRICTNESS = {"show": 0, "redact": 1, "hide": 2}


class _Treatments:
    """How each field of an asset is shown to one requester, and how anything naming fields is."""

    def __init__(self, asset: AssetDefinition, policy: PolicyConfig, requester: str) -> None:
        restricted = policy.restricted_for(requester)
        self.policy = policy
        self.asset = asset
        self.withheld_mode = "redact" if policy.on_restricted == "redact" else "hide"
        self.infos = asset_fields(asset)  # the one walk over the fields
        self.how: dict[str, str] = {}
        for info in self.infos:
            self.how[info.path] = treatment(info.labels, restricted, policy)
        self.any_withheld = any(h != "show" for h in self.how.values())
        self._words: re.Pattern[str] | None = None
        self._words_built = False

    def _withheld_words(self) -> re.Pattern[str] | None:
        """Names of withheld fields as whole words (compiled when first needed: only quality rules and
        monitoring text are matched against it)."""
        if not self._words_built:
            if self.any_withheld:
                names = set()
                for info in self.infos:
                    if self.how[info.path] != "show":
                        names |= _names(info.field)
                words = sorted((re.escape(n) for n in names if n), key=len, reverse=True)
                self._words = re.compile(r"(?<![\w])(" + "|".join(words) + r")(?![\w])", re.IGNORECASE)
            self._words_built = True
        return self._words

    def of_column(self, column: str) -> tuple[str, str | None]:
        """(treatment, logical path) of an expectation's column. A column matching no field is
        restricted when anything of the asset is withheld from the requester (fail closed)."""
        paths = _match(list(self.asset.fields), _column_parts(column))
        if not paths:
            return (self.withheld_mode if self.any_withheld else "show"), None
        how = max((self.how.get(p, self.withheld_mode) for p in paths), key=_STRICTNESS.__getitem__)
        return how, paths[0]

    def of_text(self, value: Any) -> str:
        """``show`` unless ``value`` (any JSON data) mentions the name of a withheld field."""
        words = self._withheld_words()
        if words is None:
            return "show"
        text = json.dumps(value, default=str, sort_keys=True)
        return self.withheld_mode if words.search(text) else "show"

    def descendants_withheld(self, path: str) -> bool:
        return any(
            h != "show" and (p.startswith(path + ".") or p.startswith(path + "[]."))
            for p, h in self.how.items()
        )


def _quality_view(
    asset: AssetDefinition, policy: PolicyConfig, requester: str, seen: _Treatments | None = None
) -> dict[str, Any] | None:
    dq = asset.data_quality
    checks = contract_checks(asset).checks
    if dq is None and not checks:
        return None
    seen = seen or _Treatments(asset, policy, requester)
    expectations = []
    for exp in dq.expectations if dq is not None else []:
        entry = {k: v for k, v in exp.model_dump(mode="json").items() if v is not None}
        if exp.column:
            how, path = seen.of_column(exp.column)
            rest = {k: v for k, v in entry.items() if k not in ("type", "column", "values")}
            if how == "show" and rest:
                how = seen.of_text(rest)
        else:
            how, path = seen.of_text({k: v for k, v in entry.items() if k != "type"}), None
        if how == "hide":
            continue
        if how == "redact":
            withheld: dict[str, Any] = {"type": exp.type}
            if path is not None:
                withheld["column"] = path
            withheld["restricted"] = True
            expectations.append(withheld)
            continue
        expectations.append(entry)
    monitoring = dict(dq.monitoring) if dq is not None and dq.monitoring else None
    if monitoring and seen.of_text(monitoring) != "show":
        monitoring = {"restricted": True} if seen.withheld_mode == "redact" else None
    return {"monitoring": monitoring, "expectations": expectations, "checks": _check_entries(checks, seen)}


def _check_entries(checks: tuple[Check, ...], seen: _Treatments) -> list[dict[str, Any]]:
    """Every check the contract asks for (the one vocabulary), treated like the columns they name."""
    entries: list[dict[str, Any]] = []
    for check in checks:
        arguments = _json_ready(check.arguments())
        how, path = seen.of_column(check.column) if check.column else ("show", None)
        if how == "show" and arguments:
            how = seen.of_text(arguments)
        if how == "hide":
            continue
        entry: dict[str, Any] = {"kind": check.kind, "column": path if check.column else None}
        if how == "redact":
            entries.append({**entry, "restricted": True})
            continue
        entries.append(
            {**entry, "arguments": arguments, "severity": check.severity, "written_at": check.origin.path}
        )
    return entries


def _json_ready(value: Any) -> Any:
    """Check arguments as JSON data (tuples as lists, empty values left out)."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items() if v not in (None, (), False, "")}
    if isinstance(value, tuple):
        return [_json_ready(v) for v in value]
    return value


def governance_view(
    asset: AssetDefinition, policy: PolicyConfig, requester: str, seen: _Treatments | None = None
) -> dict[str, Any]:
    comp = asset.compliance
    security = dict(comp.security) if comp else {}
    restricted = policy.restricted_for(requester)
    visible: set[str] = set()
    for info in seen.infos if seen else asset_fields(asset):
        how = seen.how[info.path] if seen else treatment(info.labels, restricted, policy)
        if how == "show":
            visible.update(info.labels)
        elif how == "redact":
            visible.update(info.labels & restricted)
    visible_labels = sorted(visible)
    return {
        "owner": asset.owner,
        "classification": [c.upper() for c in comp.classification] if comp else [],
        "field_classifications": visible_labels,
        "regulations": list(comp.regulations) if comp else [],
        "retention_days": comp.retention_days if comp else None,
        "user_consent_required": bool(comp.user_consent_required) if comp else False,
        "encryption_required": bool(security.get("encryption_required", False)),
        "access_control": security.get("access_control"),
        "status": asset.status,
    }


def dbt_names(asset: AssetDefinition) -> dict[str, Any]:
    """The dbt source and staging model names the dbt generator gives this contract."""
    source, table = default_source_name(asset), object_of(asset)
    return {
        "source": source,
        "table": table,
        "source_ref": f"source('{source}', '{table}')",
        "staging_model": default_model_name(asset),
    }


def asset_context(asset: AssetDefinition, policy: PolicyConfig, requester: str) -> dict[str, Any]:
    """Every part of the context that comes from the contract itself, filtered by the policy."""
    desc = asset.description
    seen = _Treatments(asset, policy, requester)
    return {
        "asset": {
            "id": asset.id,
            "name": asset.name,
            "version": asset.version,
            "status": asset.status,
            "source_type": asset.source_type,
            "object": asset.object_name,
            "tenant": asset.tenant,
            "domain": asset.domain,
            "data_product": asset.data_product,
            "tags": list(asset.tags),
        },
        "schema": schema_view(asset, policy, requester, seen),
        "governance": governance_view(asset, policy, requester, seen),
        "description": (
            {"purpose": desc.purpose, "usage": desc.usage, "limitations": desc.limitations} if desc else None
        ),
        "data_quality": _quality_view(asset, policy, requester, seen),
        "dbt": dbt_names(asset),
    }


def _copy(value: Any) -> Any:
    """A fresh copy of JSON-like data (dicts and lists copied, other values shared: they are immutable
    or are copied nowhere else either)."""
    kind = type(value)
    if kind is dict:
        return {k: _copy(v) for k, v in value.items()}
    if kind is list:
        return [_copy(v) for v in value]
    return value


class ContextViews:
    """The policy-filtered :func:`asset_context` of one contract version, per visibility class.

    The view depends on the requester only through the labels restricted for it and the policy's
    ``on_restricted``; both form the cache key, so requesters of one class share one computed view
    and every caller gets its own copy. Built for a registered version (versions never change);
    ``load`` returns the asset again when a class not seen yet is asked for. Also carries what the
    policy decision needs (labels, tenant) so a cached request does not need the parsed contract.
    """

    __slots__ = (
        "_load",
        "_views",
        "classifications",
        "object_name",
        "sla",
        "source_type",
        "tenant",
        "version",
    )

    def __init__(self, asset: AssetDefinition, load: Callable[[], AssetDefinition]) -> None:
        self.source_type = asset.source_type
        self.object_name = asset.object_name
        self.version = asset.version
        self.classifications = tuple(asset.classifications)
        self.tenant = asset.tenant
        self.sla = SlaSubject.of(asset)  # what the SLA status needs (dativo_ingest.sla)
        self._load = load
        self._views: dict[tuple[frozenset[str], str], tuple[str | None, dict[str, Any]]] = {}

    def context(self, policy: PolicyConfig, requester: str) -> dict[str, Any]:
        """A fresh ``asset_context(asset, policy, requester)``."""
        key = (policy.restricted_for(requester), policy.on_restricted)
        hit = self._views.get(key)
        if hit is None:
            view = asset_context(self._load(), policy, requester)
            text: str | None = None
            try:
                text = json.dumps(view, ensure_ascii=False, allow_nan=False)
                if json.loads(text) != view:  # tuples, non-string keys...: keep the data itself
                    text = None
            except (TypeError, ValueError):
                text = None
            hit = self._views[key] = (text, view if text is None else {})
        text, view = hit
        fresh: dict[str, Any] = json.loads(text) if text is not None else _copy(view)
        return fresh


def quality_status_view(latest: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any] | None:
    """The newest recorded result of each check (``contract test`` or ingestion), as the requester may
    see it: checks on a field left out of ``schema`` (the requester's :func:`schema_view`) are left out
    too; counts are shown (they carry no values); where the data rests is not. None before any result."""
    if not latest:
        return None
    visible = {entry["name"] for entry in schema.get("fields", [])}
    checks = []
    for row in latest:
        named = str(row["check_id"]).split("#", 1)[0].partition(":")[2]
        columns = [c for c in named.split("+") if c] if named else []
        if any(c not in visible for c in columns):
            continue
        at = row["recorded_at"]
        checks.append(
            {
                "check": row["check_id"],
                "kind": row["kind"],
                "column": row["column_name"],
                "status": row["status"],
                "rows_checked": row["rows_checked"],
                "failed": row["failed"],
                "value": row["value"],
                "origin": row["origin"],
                "contract_version": row["contract_version"],
                "checked_at": at.isoformat(timespec="seconds").replace("+00:00", "Z")
                if hasattr(at, "isoformat")
                else str(at),
            }
        )
    summary: dict[str, int] = {}
    for entry in checks:
        summary[entry["status"]] = summary.get(entry["status"], 0) + 1
    return {
        "checks": checks,
        "summary": dict(sorted(summary.items())),
        "passing": not any(c["status"] == "failed" for c in checks),
        "last_checked_at": max((c["checked_at"] for c in checks), default=None),
    }
