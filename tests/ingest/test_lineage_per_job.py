"""Lineage of a run is its job's own: no mixing through a shared contract, no graph for unreadable sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest import load_job, run_job
from tests.ingest.helpers import good_rows, write_contract, write_csv, write_job


def _upstream(tracker, node: str) -> set[str]:
    return {e["node"]["id"] for e in tracker.get_upstream_lineage(node)}


@pytest.mark.postgres
def test_target_upstream_shows_only_its_own_jobs_source(workspace: Path, postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    from dativo_ingest.lineage import LineageTracker

    url = postgres_url
    engine = create_engine("postgresql+psycopg://" + url.split("://", 1)[1])
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS dativo_lineage_src"))
        conn.execute(
            text(
                "CREATE TABLE dativo_lineage_src AS SELECT 'cus_1'::text AS id, 'a@b.c'::text AS email, "
                "'active'::text AS status, 1::bigint AS balance, now() AS created_at"
            )
        )
    engine.dispose()
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 3))
    csv_job = write_job(workspace, {"name": "from-csv", "source": {"type": "csv", "path": "../data/c.csv"}})
    pg_job = write_job(
        workspace,
        {
            "name": "from-pg",
            "source": {"type": "postgres", "url": url, "table": "dativo_lineage_src"},
            "target": {"table": "customers_pg"},
        },
        name="pg.yaml",
    )
    broken = write_job(
        workspace,
        {
            "name": "from-nowhere",
            "source": {"type": "postgres", "url": url, "table": "dativo_no_such_table"},
            "target": {"table": "customers_nowhere"},
        },
        name="broken.yaml",
    )
    run_job(load_job(csv_job))
    run_job(load_job(pg_job))
    with pytest.raises(SourceError):
        run_job(load_job(broken))
    tracker = LineageTracker()
    assert _upstream(tracker, "target://iceberg/bronze/stripe_customers") == {
        "transformation://acme/from-csv/schema_validation",
        "source://stripe/customers",
        "asset://stripe/customers@1.0.0",
    }
    assert _upstream(tracker, "target://iceberg/bronze/customers_pg") == {
        "transformation://acme/from-pg/schema_validation",
        "source://postgres/dativo_lineage_src",
        "asset://stripe/customers@1.0.0",
    }
    ids = set(tracker.nodes)
    assert not any("dativo_no_such_table" in i or "from-nowhere" in i for i in ids)
    failed = tracker.runs(job_name="from-nowhere")
    assert [r["status"] for r in failed] == ["fail"]
