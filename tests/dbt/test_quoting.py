"""Contract values that reach SQL are escaped for the adapter, and SQL rules accept dbt's placeholders:
proven by real `dbt build` on DuckDB (a value with a quote passes, another value fails), plus the
escaping each adapter needs and the warning for a placeholder dbt could not run."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import jinja2
import pytest

from dativo_ingest.config import AssetDefinition
from dativo_ingest.dbt.datatests import data_test_definitions
from dativo_ingest.dbt.quoting import sql_string
from dativo_ingest.dbt_integration import DBTGenerator, ProjectConfig
from tests.dbt.dbt_runner import run_dbt

TICKETS = {
    "id": "qa-tickets",
    "version": "1.0.0",
    "source_type": "qa",
    "object": "tickets",
    "team": {"owner": "qa@example.com"},
    "schema": [
        {"name": "ticket_id", "type": "integer", "required": True, "unique": True},
        {"name": "state", "type": "string", "logicalTypeOptions": {"pattern": "^[a-z' ]+$"}},
        {"name": "priority", "type": "integer"},
        {"name": "due", "type": "date"},
        {"name": "owner_group", "type": "string"},
    ],
    "data_quality": {
        "expectations": [
            {"type": "accepted_values", "column": "state", "values": ["new", "shipped", "it's done"]},
            {"type": "accepted_values", "column": "priority", "values": [1, 2, 3]},
            {"type": "accepted_values", "column": "due", "values": ["2025-01-01", "2025-01-02"]},
            {"type": "relationships", "column": "owner_group", "to": "qa.groups", "field": "group"},
            {"type": "sql", "query": "select * from {{ model }} where ticket_id < 0"},
            {"type": "sql", "query": "select count(*) from {{this}} where state = 'it''s done'", "mustBe": 1},
            {"type": "sql", "query": "select min(state) from {model}", "mustNotBe": "it's bad"},
            {"type": "sql", "query": "select * from {{ ref('elsewhere') }} where x < 0"},
        ]
    },
}
GROUPS = {
    "id": "qa-groups",
    "version": "1.0.0",
    "source_type": "qa",
    "object": "groups",
    "team": {"owner": "qa@example.com"},
    "schema": [{"name": "group", "type": "string", "required": True}],
}
ROWS = "(1, 'new', 1, date '2025-01-01', 'ops'), (2, 'it''s done', 2, date '2025-01-02', 'ops')"
#: A state outside the accepted values (with a quote too) and a negative id the SQL rule rejects.
BAD_ROWS = ROWS + ", (-5, 'it''s not done', 3, date '2025-01-01', 'ops')"


def _load(db: Path, rows: str) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists raw_qa")
        con.execute("create or replace table raw_qa.groups as select * from (values ('ops')) t(\"group\")")
        con.execute(
            "create or replace table raw_qa.tickets as select * from (values "
            f"{rows}) t(ticket_id, state, priority, due, owner_group)"
        )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DBTGenerator]:
    out = tmp_path_factory.mktemp("quoting") / "dbt"
    generator = DBTGenerator(out)
    assets = [AssetDefinition.from_dict(TICKETS), AssetDefinition.from_dict(GROUPS)]
    generator.generate_project(assets, ProjectConfig(project_name="qa", input="duckdb"))
    return out, generator


def test_unrecognised_placeholders_are_skipped_with_a_warning(generated: tuple[Path, DBTGenerator]) -> None:
    out, generator = generated
    assert generator.warnings == [
        "qa-tickets: data_quality.expectations[7]: query has unrecognised placeholder(s) "
        "{{ ref('elsewhere') }}; name the checked table with {object}, {table}, {model}, {{ model }} "
        "or {{ this }}; enforced nowhere"
    ]
    models = (out / "models" / "staging" / "qa" / "_qa__models.yml").read_text()
    assert "{{" not in models and models.count("__model__") == 3


@pytest.mark.dbt
def test_quoted_values_pass_and_other_values_fail_in_real_dbt(generated: tuple[Path, DBTGenerator]) -> None:
    out, _ = generated
    _load(out / "dativo.duckdb", ROWS)
    good = run_dbt(out, "build")
    assert good.success, (good.exception, good.failed())
    tests = [t for t in good.statuses if t.startswith("test.")]
    assert sum("accepted_values" in t for t in tests) == 6 and sum("dativo_sql_rule" in t for t in tests) == 3
    assert sum("relationships" in t for t in tests) == 2 and sum("dativo_regex" in t for t in tests) == 2

    _load(out / "dativo.duckdb", BAD_ROWS)
    assert run_dbt(out, "run").success
    bad = run_dbt(out, "test")
    failed = sorted(uid.split(".")[2] for uid in bad.failed())
    assert [f for f in failed if "accepted_values" in f] == [
        "accepted_values_stg_qa__tickets_state__new__shipped__it_s_done",
        "source_accepted_values_raw_qa_tickets_state__new__shipped__it_s_done",
    ]
    assert len(failed) == 3 and any(f.startswith("dativo_sql_rule_stg_qa__tickets") for f in failed)


@pytest.mark.parametrize(
    ("adapter", "literal"),
    [
        ("duckdb", r"'it''s C:\x'"),
        ("postgres", r"'it''s C:\x'"),
        ("trino", r"'it''s C:\x'"),
        ("snowflake", r"'it''s C:\\x'"),
        ("bigquery", r"'it\'s C:\\x'"),
        ("spark", r"'it\'s C:\\x'"),
        ("databricks", r"'it\'s C:\\x'"),
    ],
)
def test_string_literals_and_regex_patterns_are_escaped_per_adapter(adapter: str, literal: str) -> None:
    assert sql_string(r"it's C:\x", adapter) == literal
    expression = re.search(r"\{\{ \"'\" ~ pattern .*? \}\}", data_test_definitions(adapter)).group(0)
    assert jinja2.Template(expression).render(pattern=r"it's C:\x") == literal
