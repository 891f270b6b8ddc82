"""Generated projects proven by real dbt (in-process): strict parse with zero deprecations, `dbt build`
passing every generated test on good data, failing on the matching tests for data that breaks the
contract, and the manifest imported into lineage with the columns each model reads.

One project is shared by the module (dbt is slow): the shop contracts as a whole project reading
Parquet, the spec's Quick Start output for the Stripe contract (a DuckDB table), a hand-written mart
and exposures from a config file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from dativo_ingest.config import AssetDefinition
from dativo_ingest.dbt.registry import latest_contracts
from dativo_ingest.dbt_integration import DBTGenerator, ProjectConfig
from tests.conftest import STRIPE_CONTRACT
from tests.dbt.dbt_runner import run_dbt
from tests.dbt.sample_data import BAD_ORDERS, write_parquet

pytestmark = pytest.mark.dbt

SPECS = Path(__file__).parent / "fixtures" / "specs"
MART = """select c.customer_id, c.tier, sum(o.amount) as revenue
from {{ ref('stg_shop__customers') }} as c
left join (select order_id, customer_id, amount from {{ ref('stg_shop__orders') }}) as o
    on o.customer_id = c.customer_id
group by c.customer_id, c.tier
"""
EXPOSURES = [
    {
        "name": "revenue_dashboard",
        "type": "dashboard",
        "maturity": "high",
        "url": "https://bi.example.com/rev",
        "owner": {"name": "BI", "email": "bi@example.com"},
        "depends_on": ["shop.orders", "ref('fct_customer_revenue')"],
    },
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dbtproj")
    out, warehouse = root / "dbt", root / "warehouse"
    write_parquet(warehouse)
    generator = DBTGenerator(output_dir=out)
    config = ProjectConfig(
        project_name="shop", input="parquet", warehouse=warehouse, exposures=tuple(EXPOSURES)
    )
    generator.generate_project(latest_contracts(SPECS), config)
    (out / "models" / "marts").mkdir(parents=True)
    (out / "models" / "marts" / "fct_customer_revenue.sql").write_text(MART)

    # The spec's Quick Start step 3, as written (output_dir aside), plus the staging SQL for its model.
    asset = AssetDefinition.from_yaml(STRIPE_CONTRACT)
    generator = DBTGenerator(output_dir=out)
    generator.save_dbt_yaml(asset=asset, yaml_type="source", catalog_name="raw_stripe")
    generator.save_dbt_yaml(asset=asset, yaml_type="model", model_name="stg_stripe_customers")
    generator.save_dbt_yaml(asset=asset, yaml_type="exposure")
    generator.save_staging_model(asset, catalog_name="raw_stripe", model_name="stg_stripe_customers")
    with duckdb.connect(str(out / "dativo.duckdb")) as con:
        con.execute("create schema raw_stripe")
        con.execute(
            "create table raw_stripe.customers as select * from (values ('c1', 'a@x.io', now()), "
            "('c2', 'b@x.io', now())) t(id, email, created_at)"
        )
    return out


@pytest.fixture(scope="module")
def good_build(project: Path):
    return run_dbt(project, "build")


def test_parse_has_zero_deprecations_under_strict_yaml_checks(project: Path) -> None:
    run = run_dbt(project, "parse")
    assert run.success, run.exception
    assert run.deprecations == []
    assert [w for w in run.warnings if "Deprecat" in w] == []


def test_build_passes_every_generated_test_on_good_data(project: Path, good_build) -> None:
    assert good_build.success, (good_build.exception, good_build.failed())
    tests = {uid for uid in good_build.statuses if uid.startswith("test.")}
    assert tests and all(good_build.statuses[t] == "pass" for t in tests)
    for kind in ("dativo_range", "dativo_length", "dativo_regex", "dativo_row_count", "dativo_sql_rule"):
        assert any(t.startswith(f"test.shop.{kind}_stg_shop") for t in tests), kind  # contract rules ran
    assert any("accepted_values_stg_shop__orders_status" in t for t in tests)
    assert any("relationships_stg_shop__orders_customer_id" in t for t in tests)
    assert any("not_null_stg_stripe_customers_email" in t for t in tests)  # Quick Start model
    for model in ("stg_shop__customers", "stg_shop__orders", "stg_stripe_customers", "fct_customer_revenue"):
        assert good_build.statuses[f"model.shop.{model}"] == "success"


def test_staging_applies_retention_consent_and_masking(project: Path, good_build) -> None:
    assert good_build.success
    with duckdb.connect(str(project / "dativo.duckdb")) as con:
        rows = con.execute("select customer_id, email from main.stg_shop__customers order by 1").fetchall()
        cards = con.execute("select card_number from main.stg_shop__orders order by order_id").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]  # 4 is older than retention, 5 gave no consent
    assert all(len(email) == 64 and "@" not in email for _, email in rows)  # sha256 hex
    assert cards[2] == (None,) and len(cards[0][0]) == 64


def test_manifest_import_records_columns_each_model_reads(project: Path, good_build, workspace: Path) -> None:
    from dativo_ingest.dbt.manifest import load_manifest, record_lineage
    from dativo_ingest.lineage import LineageTracker

    graph = load_manifest(project / "target" / "manifest.json")
    mart = "model.shop.fct_customer_revenue"
    assert graph.reads[mart] == {
        "model.shop.stg_shop__customers": ["customer_id", "tier"],
        "model.shop.stg_shop__orders": ["amount", "customer_id", "order_id"],
    }
    assert graph.column_map[mart]["revenue"] == [("model.shop.stg_shop__orders", "amount")]
    assert graph.contract_of("source.shop.raw_shop.orders") == ("shop", "orders")
    tracker = LineageTracker()
    counts = record_lineage(graph, tracker)
    assert counts["exposures"] == 2 and counts["models"] == 4
    assert tracker.column_consumers("shop", "orders", "amount") == [mart, "model.shop.stg_shop__orders"]
    assert tracker.column_consumers("shop", "orders", "notes") == ["model.shop.stg_shop__orders"]
    impacted = {r["node"]["id"] for r in tracker.impact("shop", "orders", "amount")}
    assert "dbt://exposure.shop.revenue_dashboard" in impacted
    record_lineage(graph, tracker)  # re-import is idempotent
    assert tracker.column_consumers("shop", "orders", "notes") == ["model.shop.stg_shop__orders"]


def test_usage_looks_through_generated_staging_models(project: Path, good_build, workspace: Path) -> None:
    """A column only dativo's staging model selects is unused; marts and direct exposures are users."""
    from dativo_ingest.changes import classify
    from dativo_ingest.dbt.manifest import load_manifest, record_lineage
    from dativo_ingest.lineage import LineageTracker, StoreUsageSource

    graph = load_manifest(project / "target" / "manifest.json")
    assert {n.name for n in graph.of_type("model") if n.generated} == {
        "stg_shop__customers",
        "stg_shop__orders",
        "stg_stripe_customers",
    }
    record_lineage(graph, LineageTracker())
    usage = StoreUsageSource()
    assert usage.consumers("shop", "customers", "country") == []
    assert usage.consumers("shop", "customers", "tier") == ["model.shop.fct_customer_revenue"]
    # revenue_dashboard depends on stg_shop__orders itself: every orders column is conservatively in use
    assert usage.consumers("shop", "orders", "notes") == ["exposure.shop.revenue_dashboard"]
    old = next(a for a in latest_contracts(SPECS) if a.object_name == "customers")
    new = old.model_copy(deep=True)
    new.schema = [f for f in new.fields if f.name != "country"]
    changes = classify(old, new, usage=usage).changes
    assert [(c.path, c.kind) for c in changes] == [("country", "field_removed_unused")]


def test_build_fails_on_the_matching_tests_for_contract_violations(project: Path, good_build) -> None:
    assert good_build.success  # the shared project is built with good data first
    warehouse = project.parent / "warehouse"
    shutil.rmtree(warehouse / "shop" / "orders")
    write_parquet(warehouse, orders=BAD_ORDERS)
    run = run_dbt(project, "build", "--select", "source:raw_shop+")
    assert not run.success
    failed = {uid.rsplit(".", 1)[0] if uid.count(".") > 2 else uid for uid in run.failed()}
    assert failed == {
        "test.shop.source_not_null_raw_shop_orders_customer_id",
        "test.shop.source_accepted_values_raw_shop_orders_status__placed__shipped__returned",
    }


def test_legacy_style_parses_but_dbt_flags_its_deprecations(tmp_path: Path) -> None:
    """The zero-deprecation check above can fail: pre-1.10 syntax trips it."""
    asset = AssetDefinition.from_yaml(STRIPE_CONTRACT)
    generator = DBTGenerator(output_dir=tmp_path, style="legacy")
    generator.save_dbt_yaml(asset=asset, yaml_type="source", catalog_name="raw_stripe")
    (tmp_path / "dbt_project.yml").write_text(
        "name: legacy\nversion: '1.0.0'\nconfig-version: 2\nprofile: legacy\n"
    )
    (tmp_path / "profiles.yml").write_text(
        "legacy:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {(tmp_path / 'legacy.duckdb').as_posix()}\n"
    )
    run = run_dbt(tmp_path, "parse")
    assert run.success, run.exception
    assert any("PropertyMovedToConfigDeprecation" in d for d in run.deprecations)
