"""Property-based: any contract hypothesis builds converts to valid ODCS and back to an equal model."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dativo_ingest.config import AssetDefinition
from dativo_ingest.odcs.types import DATIVO_TYPES

SCHEMAS = Path(__file__).resolve().parents[2] / "src" / "dativo_ingest" / "odcs" / "schemas"
VALIDATORS = {
    v: jsonschema.Draft201909Validator(json.loads((SCHEMAS / f"odcs-json-schema-{v}.json").read_text()))
    for v in ("v3.0.2", "v3.1.0", "v3.2.0")
}

names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)
scalar_types = sorted(DATIVO_TYPES - {"object", "array"})


@st.composite
def fields(draw: st.DrawFn, depth: int = 0) -> dict:
    field: dict = {"name": draw(names), "type": draw(st.sampled_from(scalar_types))}
    for key, strategy in (
        ("required", st.booleans()),
        ("unique", st.booleans()),
        ("primaryKey", st.booleans()),
        ("description", text),
        ("classification", st.sampled_from(["PII", "SENSITIVE", "PUBLIC", "internal"])),
        ("physicalType", st.sampled_from(["varchar(20)", "int4", "timestamp", "string", "NUMBER(38,0)"])),
        ("tags", st.lists(names, max_size=3)),
        ("examples", st.lists(st.one_of(st.integers(), names), max_size=2)),
    ):
        if draw(st.booleans()):
            field[key] = draw(strategy)
    if depth < 2 and draw(st.integers(0, 5)) == 0:
        field["type"] = "object"
        field["properties"] = draw(
            st.lists(fields(depth + 1), min_size=1, max_size=3, unique_by=lambda f: f["name"])
        )
    elif depth < 2 and draw(st.integers(0, 6)) == 0:
        field["type"] = "array"
        field["items"] = draw(fields(depth + 1))
    return field


@st.composite
def contracts(draw: st.DrawFn) -> dict:
    schema = draw(st.lists(fields(), min_size=1, max_size=6, unique_by=lambda f: f["name"]))
    columns = [f["name"] for f in schema]
    doc: dict = {
        "version": f"{draw(st.integers(0, 20))}.{draw(st.integers(0, 20))}.{draw(st.integers(0, 20))}",
        "schema": schema,
    }
    optional = {
        "id": names,
        "name": names,
        "status": st.sampled_from(["active", "draft", "retired"]),
        "source_type": names,
        "object": names,
        "domain": names,
        "dataProduct": names,
        "tags": st.lists(names, max_size=3),
        "description": st.fixed_dictionaries(
            {}, optional={"purpose": text, "usage": text, "limitations": text}
        ),
        "team": st.fixed_dictionaries(
            {"owner": st.emails()},
            optional={
                "roles": st.lists(
                    st.fixed_dictionaries(
                        {"name": names, "email": st.emails()}, optional={"responsibility": text}
                    ),
                    max_size=2,
                )
            },
        ),
        "compliance": st.fixed_dictionaries(
            {},
            optional={
                "classification": st.lists(st.sampled_from(["PII", "SENSITIVE", "PHI"]), unique=True),
                "regulations": st.lists(st.sampled_from(["GDPR", "CCPA", "HIPAA"]), unique=True),
                "retention_days": st.integers(0, 4000),
                "user_consent_required": st.booleans(),
                "security": st.fixed_dictionaries({}, optional={"encryption_required": st.booleans()}),
            },
        ),
        "data_quality": st.fixed_dictionaries(
            {},
            optional={
                "monitoring": st.fixed_dictionaries(
                    {"enabled": st.booleans()}, optional={"oncall_rotation": names}
                ),
                "expectations": st.lists(
                    st.one_of(
                        st.fixed_dictionaries(
                            {
                                "type": st.sampled_from(["not_null", "unique"]),
                                "column": st.sampled_from([*columns, "ghost"]),
                            }
                        ),
                        st.fixed_dictionaries(
                            {
                                "type": st.just("accepted_values"),
                                "column": st.sampled_from(columns),
                                "values": st.lists(names, min_size=1, max_size=3),
                            }
                        ),
                        st.fixed_dictionaries({"type": st.just("row_count"), "min": st.integers(0, 9)}),
                    ),
                    max_size=4,
                ),
            },
        ),
        "change_management": st.fixed_dictionaries({"policy": st.sampled_from(["non-breaking", "any"])}),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            doc[key] = draw(strategy)
    return doc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts(), st.sampled_from(["v3.0.2", "v3.1.0", "v3.2.0"]))
def test_any_contract_round_trips_through_valid_odcs(document: dict, version: str) -> None:
    asset = AssetDefinition.from_dict(document)
    odcs = asset.to_odcs(version)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATORS[version].iter_errors(odcs)]
    assert errors == []
    back = AssetDefinition.from_dict(odcs)
    back.api_version = asset.api_version
    assert back == asset
    assert AssetDefinition.from_dict(asset.to_dict()) == asset
