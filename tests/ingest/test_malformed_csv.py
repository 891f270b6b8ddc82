"""Malformed CSV rows: quarantined with file, line and reason (warn), or a file:line failure (strict)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dativo_ingest.errors import DataValidationError
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from tests.ingest.helpers import good_rows, write_contract, write_csv, write_job

MALFORMED = [
    "cus_x1,a@example.com,active,1,2024-01-01T00:00:00Z,EXTRA",  # line 5: one field too many
    "cus_x2,b@example.com,active",  # line 6: short row
]


def _job(workspace: Path) -> Path:
    write_contract(workspace)
    rows = good_rows(0, 3) + MALFORMED + good_rows(3, 2) + ['cus_x3,"c@example.com,active,1,2024-01-01']
    write_csv(workspace / "data" / "c.csv", rows)  # the last row opens a quote it never closes
    return write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})


def test_warn_mode_quarantines_malformed_rows_with_their_line(workspace: Path) -> None:
    result = run_job(load_job(_job(workspace)))
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (8, 5, 3)
    assert result.rule_failures == {"malformed_row": 3}
    catalog = load_catalog_for(CatalogConfig(), workspace / "warehouse")
    rows = catalog.load_table("bronze.stripe_customers_quarantine").scan().to_arrow().to_pylist()
    found = sorted((r["source_row"], json.loads(r["record"])["reason"]) for r in rows)
    assert found == [
        (5, "expected 5 columns, got 6"),
        (6, "expected 5 columns, got 3"),
        (9, "expected 5 columns, got 2 (unterminated quote)"),
    ]
    assert all(json.loads(r["record"])["file"].endswith("c.csv") for r in rows)
    # the same columns name the place as for rows that break a rule: source_file, source_location
    assert all(r["source_file"] == json.loads(r["record"])["file"] for r in rows)
    assert sorted(r["source_location"].rsplit("/", 1)[-1] for r in rows) == ["c.csv:5", "c.csv:6", "c.csv:9"]


def test_strict_mode_fails_naming_file_and_line(workspace: Path) -> None:
    job = load_job(_job(workspace))
    job.validation.mode = "strict"
    with pytest.raises(DataValidationError) as caught:
        run_job(job)
    assert "c.csv:5" in str(caught.value) and "expected 5 columns, got 6" in str(caught.value)
