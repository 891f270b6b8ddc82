"""Contract text that looks like Jinja (``{{ ... }}``, ``{% ... %}``) reaches dbt as plain text: dbt renders
descriptions and test arguments, so such text would otherwise break the parse or run as a template.
Proven by real `dbt build` on DuckDB: the value with braces is accepted, another value fails."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dativo_ingest.config import AssetDefinition
from dativo_ingest.dbt.quoting import jinja_text
from dativo_ingest.dbt_integration import DBTGenerator, ProjectConfig
from tests.dbt.dbt_runner import run_dbt

BRACES = "{{ 'x' }}"
NOTES = {
    "id": "qa-notes",
    "version": "1.0.0",
    "source_type": "qa",
    "object": "notes",
    "description": {"purpose": "Notes written with {{ templates }} and {% tags %}"},
    "team": {"owner": "qa@example.com"},
    "schema": [
        {"name": "note_id", "type": "integer", "required": True, "description": "Id {# not a comment #}"},
        {"name": "body", "type": "string", "logicalTypeOptions": {"pattern": "^[{}a-z' ]+$"}},
    ],
    "data_quality": {
        "expectations": [{"type": "accepted_values", "column": "body", "values": ["plain", BRACES]}]
    },
}


def _load(db: Path, bodies: list[str]) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists raw_qa")
        con.execute("create or replace table raw_qa.notes (note_id integer, body varchar)")
        con.executemany("insert into raw_qa.notes values (?, ?)", list(enumerate(bodies, start=1)))


@pytest.mark.parametrize(
    "text",
    ["plain", "{{ x }}", "{% if %}", "{# c #}", "a {% endraw %} b", "'quoted' \"double\" \\ back"],
)
def test_jinja_text_renders_back_to_itself(text: str) -> None:
    import jinja2

    assert jinja2.Template(jinja_text(text)).render() == text
    assert (jinja_text(text) == text) == (text == "plain" or "{" not in text)


@pytest.mark.dbt
def test_braces_in_contract_text_are_plain_text_to_dbt(tmp_path: Path) -> None:
    out = tmp_path / "dbt"
    DBTGenerator(out).generate_project(
        [AssetDefinition.from_dict(NOTES)], ProjectConfig(project_name="qa", input="duckdb")
    )
    _load(out / "dativo.duckdb", ["plain", BRACES])
    good = run_dbt(out, "build")
    assert good.success, (good.exception, good.failed())
    assert sum("accepted_values" in t for t in good.statuses) == 2
    _load(out / "dativo.duckdb", ["plain", "{{ 'y' }}"])
    assert run_dbt(out, "run").success
    failed = run_dbt(out, "test").failed()
    assert sum("accepted_values" in uid for uid in failed) == 2
