"""Query-time enforcement fails closed: no query shape gets a restricted value out.

Every rewrite is executed on real DuckDB against tables that hold a secret value in their restricted
columns; the secret must never come back. Tables resolve through the real catalog (registry + index).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from dativo_ingest.errors import UsageError
from dativo_ingest.policy import check_sql, enforce_sql, load_policy
from dativo_ingest.policy.sql import SQLTooComplexError
from tests.ai.conftest import make_asset

duckdb = pytest.importorskip("duckdb")

CARD = "4111-SECRET-CARD"
SSN = "999-SECRET-SSN"
SALARY = 987654.25

REDACT = load_policy({"requester_tenants": {"acme-bot": ["acme"]}})
HIDE = load_policy({"on_restricted": "hide"})


@pytest.fixture
def resolve(registry, store):
    from dativo_ingest.context.catalog import Catalog

    registry.save_contract(
        contract=make_asset(
            "billing",
            "invoices",
            [
                {"name": "invoice_id", "type": "string"},
                {"name": "amount", "type": "double"},
                {"name": "card_number", "type": "string", "classification": "PII"},
                {"name": "issued_at", "type": "timestamp"},
            ],
            tenant="acme",
            compliance={"retention_days": 365, "event_time_column": "issued_at"},
        ),
        author="t@example.com",
    )
    registry.save_contract(
        contract=make_asset(
            "hr",
            "employees",
            [
                {"name": "emp_id", "type": "string"},
                {"name": "ssn", "type": "string", "classification": "PII", "physicalName": "ssn_zqxphys"},
                {"name": "salary", "type": "double", "classification": "SENSITIVE"},
                {"name": "hired_at", "type": "timestamp"},
            ],
            tenant="globex",
            compliance={"retention_days": 3650, "retention_column": "hired_at"},
        ),
        author="t@example.com",
    )
    catalog = Catalog(registry, store)
    catalog.sync()
    return catalog.resolve_table


@pytest.fixture
def con():
    c = duckdb.connect()
    now = datetime.now()
    c.execute("CREATE SCHEMA billing")
    c.execute("CREATE SCHEMA hr")
    c.execute("CREATE SCHEMA ref")
    for table in ("billing.invoices", "billing_invoices", "stg_billing__invoices"):
        columns = "invoice_id VARCHAR, amount DOUBLE, card_number VARCHAR, issued_at TIMESTAMP"
        c.execute(f"CREATE TABLE {table} ({columns})")
        c.execute(f"INSERT INTO {table} VALUES ('i1', 10.0, ?, ?)", [CARD, now - timedelta(days=1)])
    c.execute(
        "CREATE TABLE hr.employees (emp_id VARCHAR, ssn_zqxphys VARCHAR, salary DOUBLE, hired_at TIMESTAMP)"
    )
    c.execute("INSERT INTO hr.employees VALUES ('e1', ?, ?, ?)", [SSN, SALARY, now - timedelta(days=5)])
    c.execute("CREATE TABLE ref.codes (code VARCHAR)")
    c.execute("INSERT INTO ref.codes VALUES ('DE')")
    return c


def no_secret(con, sql: str) -> list[tuple]:
    """Run ``sql``; assert no secret value comes back (in any column or as part of any value)."""
    rows = con.execute(sql).fetchall()
    text = repr(rows)
    assert CARD not in text and SSN not in text and str(SALARY) not in text, (sql, rows)
    return rows


def refused_or_safe(con, sql, resolve, policy=REDACT, requester="acme-bot", dialect="duckdb"):
    report = enforce_sql(sql, resolve, policy, requester, dialect)
    if report.allowed:
        no_secret(con, report.sql)
    return report


# 1. a CTE named like a real table only shadows it where it is in scope
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT card_number FROM billing_invoices WHERE invoice_id IN "
        "(WITH billing_invoices AS (SELECT 'i1' AS i) SELECT i FROM billing_invoices)",
        "WITH billing_invoices AS (SELECT card_number FROM billing_invoices) SELECT * FROM billing_invoices",
        "WITH invoices AS (SELECT 1 AS a) SELECT card_number FROM billing.invoices",
        "SELECT card_number FROM billing_invoices UNION ALL "
        "(WITH billing_invoices AS (SELECT 'x' AS a) SELECT a FROM billing_invoices)",
    ],
)
def test_cte_shadowing_does_not_disable_rewriting(con, resolve, sql):
    # unenforced, DuckDB returns the card: the query really reads the table
    assert CARD in repr(con.execute(sql).fetchall())
    report = enforce_sql(sql, resolve, REDACT, "acme-bot", "duckdb")
    assert not report.compliant
    assert any(t["contract"] == "billing/invoices" for t in report.tables)
    assert report.allowed, report.reasons
    no_secret(con, report.sql)


def test_cte_reference_still_reads_the_cte(con, resolve):
    report = enforce_sql(
        "WITH c AS (SELECT invoice_id FROM billing.invoices) SELECT invoice_id FROM c",
        resolve,
        REDACT,
        "acme-bot",
        "duckdb",
    )
    assert no_secret(con, report.sql) == [("i1",)]


# 2. names resolve case-insensitively and through dbt/Iceberg names; the rest is refused
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT card_number FROM BILLING.INVOICES",
        'SELECT card_number FROM "billing"."invoices"',
        "SELECT CARD_NUMBER FROM Billing.Invoices",
        "SELECT card_number FROM stg_billing__invoices",
        "SELECT card_number FROM billing_invoices",
        "SELECT card_number FROM memory.billing.invoices",
    ],
)
def test_table_names_resolve_case_insensitively_and_by_generated_names(con, resolve, sql):
    assert CARD in repr(con.execute(sql).fetchall())
    report = enforce_sql(sql, resolve, REDACT, "acme-bot", "duckdb")
    assert [t["contract"] for t in report.tables] == ["billing/invoices"]
    assert not report.compliant and report.allowed
    assert no_secret(con, report.sql) == [(None,)]


def test_snowflake_upper_case_names_resolve(resolve):
    report = enforce_sql("SELECT card_number FROM BILLING.INVOICES", resolve, REDACT, "acme-bot", "snowflake")
    assert [t["contract"] for t in report.tables] == ["billing/invoices"]
    assert "NULL AS card_number" in report.sql


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("SELECT * FROM read_parquet('warehouse/bronze/billing_invoices/*.parquet')", "duckdb"),
        ("SELECT * FROM read_csv('data/invoices.csv')", "duckdb"),
        ("SELECT * FROM iceberg_scan('warehouse/bronze/billing_invoices')", "duckdb"),
        ("SELECT * FROM 'warehouse/invoices.parquet'", "duckdb"),
        ("SELECT card_number FROM identifier('billing.invoices')", "snowflake"),
        ("SELECT * FROM nosuch.table_x", "duckdb"),
        ("SELECT * FROM billing.invoices_copy", "duckdb"),
    ],
)
def test_unresolvable_tables_and_table_functions_are_refused(resolve, sql, dialect):
    check = check_sql(sql, resolve, REDACT, "acme-bot", dialect)
    assert [(v.kind, v.severity) for v in check.violations] == [("access_denied", "error")]
    assert check.violations[0].message.endswith("is not available to you")
    report = enforce_sql(sql, resolve, REDACT, "acme-bot", dialect)
    assert not report.allowed and report.sql is None


def test_allowed_unmanaged_tables_pass_unchanged(con, resolve):
    policy = load_policy({"allowed_unmanaged_tables": ["ref.codes"]})
    sql = "SELECT c.code, i.card_number FROM ref.codes c, billing.invoices i"
    report = enforce_sql(sql, resolve, policy, "bot", "duckdb")
    assert report.allowed, report.reasons
    assert "unmanaged_table" in {v.kind for v in report.violations}
    assert no_secret(con, report.sql) == [("DE", None)]
    assert not enforce_sql(sql, resolve, REDACT, "bot", "duckdb").allowed  # default: none allowed
    with pytest.raises(Exception, match="unknown key"):
        load_policy({"allowed_unmanaged": ["x"]})


# 3. a refused table is reported exactly like an unknown one, and nothing else about it
def test_denied_table_reveals_nothing(resolve):
    sql = "SELECT ssn_zqxphys, salary, nope FROM hr.employees WHERE emp_id = 'e1' ORDER BY ssn"
    denied = check_sql(sql, resolve, REDACT, "acme-bot", "duckdb")
    unknown = check_sql(sql.replace("hr.employees", "hr.employeez"), resolve, REDACT, "acme-bot", "duckdb")
    assert [v.to_dict() for v in denied.violations] == [
        {
            "kind": "access_denied",
            "severity": "error",
            "message": "table hr.employees is not available to you",
            "table": "hr.employees",
        }
    ]
    assert [v.message.replace("employeez", "employees") for v in unknown.violations] == [
        v.message for v in denied.violations
    ]
    assert denied.tables == [{"table": "hr.employees", "contract": None}]
    text = repr(denied.to_dict())
    for secret in ("globex", "retention", "hr/employees", "salary is", "PII"):
        assert secret not in text
    # a denied table in a join: still only the one finding
    joined = check_sql(
        "SELECT i.card_number, e.ssn FROM billing.invoices i JOIN hr.employees e ON i.invoice_id = e.emp_id",
        resolve,
        REDACT,
        "acme-bot",
        "duckdb",
    )
    assert [v.kind for v in joined.violations] == ["access_denied"]


# 4. messages and rewrites only name what the requester's context shows
def test_hide_mode_names_no_restricted_columns(con, resolve):
    report = enforce_sql("SELECT * FROM hr.employees", resolve, HIDE, "bot", "duckdb")
    text = repr(report.to_dict())
    for name in ("ssn", "salary", "zqxphys"):
        assert name not in text, text
    assert "restricted columns are left out" in text
    result = con.execute(report.sql)
    assert [d[0] for d in result.description] == ["emp_id", "hired_at"]
    no_secret(con, report.sql)
    # an explicit hidden column is answered like an undeclared one
    hidden = check_sql("SELECT salary FROM hr.employees", resolve, HIDE, "bot", "duckdb")
    undeclared = check_sql("SELECT wage FROM hr.employees", resolve, HIDE, "bot", "duckdb")
    assert [v.message.replace("salary", "wage") for v in hidden.violations] == [
        v.message for v in undeclared.violations
    ]


def test_redact_mode_never_names_physical_names_of_restricted_columns(con, resolve):
    for sql in ("SELECT * FROM hr.employees", "SELECT emp_id, ssn FROM hr.employees"):
        report = enforce_sql(sql, resolve, REDACT, "bot", "duckdb")
        assert report.allowed, report.reasons
        assert "zqxphys" not in repr(report.to_dict())
        assert "ssn" in " ".join(v.message for v in report.violations)  # the logical name is shown
        no_secret(con, report.sql)
    star = con.execute(enforce_sql("SELECT * FROM hr.employees", resolve, REDACT, "bot", "duckdb").sql)
    assert [d[0] for d in star.description] == ["emp_id", "ssn", "salary", "hired_at"]
    # the physical name of a restricted column is not a way in
    physical = check_sql("SELECT ssn_zqxphys FROM hr.employees", resolve, REDACT, "bot", "duckdb")
    assert [v.kind for v in physical.violations if v.severity == "error"] == ["unknown_column"]


# 5. retention is measured on the column dbt uses, never guessed
def test_retention_column_as_dbt_reads_it(con):
    now = datetime.now()
    con.execute("CREATE SCHEMA shop")
    con.execute("CREATE TABLE shop.events (id VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP)")
    con.execute(
        "INSERT INTO shop.events VALUES ('new', ?, ?), ('old', ?, ?)",
        [now - timedelta(days=1), now, now - timedelta(days=90), now],
    )
    fields = [{"name": "id", "type": "string"}, {"name": "created_at", "type": "timestamp"}]
    fields.append({"name": "updated_at", "type": "timestamp", "partitioned": True})
    guessed = make_asset("shop", "events", fields, compliance={"retention_days": 30})
    report = enforce_sql("SELECT id FROM shop.events", lambda t: guessed, REDACT, "bot", "duckdb")
    assert [v.kind for v in report.violations] == ["retention_unenforceable"] and report.sql is None
    assert "event_time_column" in report.reasons[0]
    for key in ("event_time_column", "retention_column"):
        asset = make_asset("shop", "events", fields, compliance={"retention_days": 30, key: "created_at"})
        report = enforce_sql("SELECT id FROM shop.events", lambda t, a=asset: a, REDACT, "bot", "duckdb")
        assert report.allowed and con.execute(report.sql).fetchall() == [("new",)]
    wrong = make_asset(
        "shop", "events", fields, compliance={"retention_days": 30, "event_time_column": "nope"}
    )
    report = check_sql("SELECT id FROM shop.events", lambda t: wrong, REDACT, "bot", "duckdb")
    assert [v.kind for v in report.violations] == ["retention_unenforceable"]


# 6. size and complexity caps: a clear 422, fast
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + "(" * 500 + "1" + ")" * 500,
        "SELECT * FROM " + "(SELECT * FROM " * 100 + "billing.invoices" + ") s" * 100,
        "SELECT invoice_id FROM billing.invoices WHERE "
        + " AND ".join(f"amount <> {i}" for i in range(8000)),
        "SELECT 1 AS x" + ", 1" * 60_000,
    ],
)
def test_oversized_or_deep_queries_are_refused_quickly(resolve, sql):
    started = time.monotonic()
    with pytest.raises(SQLTooComplexError) as info:
        check_sql(sql, resolve, REDACT, "acme-bot", "duckdb")
    assert time.monotonic() - started < 5
    assert info.value.http_status == 422 and isinstance(info.value, UsageError)


def test_moderately_nested_queries_still_work(con, resolve):
    sql = "SELECT invoice_id FROM " + "(SELECT * FROM " * 20 + "billing.invoices" + ") s" * 20
    report = enforce_sql(sql, resolve, REDACT, "acme-bot", "duckdb")
    assert no_secret(con, report.sql) == [("i1",)]


# 7. rewrites run; Snowflake keeps unquoted identifiers unquoted
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT billing.invoices.invoice_id, billing.invoices.card_number FROM billing.invoices",
        "SELECT invoices.invoice_id FROM billing.invoices",
        "SELECT i.invoice_id FROM billing.invoices AS i(invoice_id, amount, card_number)",
        "SELECT t FROM billing.invoices t",
        "SELECT * FROM billing.invoices PIVOT (max(card_number) FOR invoice_id IN ('i1'))",
    ],
)
def test_rewrites_execute_on_duckdb(con, resolve, sql):
    report = refused_or_safe(con, sql, resolve)
    if "PIVOT" not in sql:
        assert report.allowed, report.reasons


def test_snowflake_rewrite_does_not_quote_unquoted_identifiers(resolve):
    report = enforce_sql(
        "SELECT invoice_id FROM billing.invoices WHERE amount > 1", resolve, REDACT, "acme-bot", "snowflake"
    )
    assert '"' not in report.sql, report.sql


# 8. anything that writes is refused
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT card_number INTO newt FROM billing.invoices",
        "CREATE TABLE newt AS SELECT card_number FROM billing.invoices",
        "INSERT INTO ref.codes SELECT card_number FROM billing.invoices",
    ],
)
def test_writes_are_refused(con, resolve, sql):
    report = enforce_sql(sql, resolve, REDACT, "acme-bot", "duckdb")
    assert not report.allowed and report.sql is None
    assert {v.kind for v in report.violations} <= {"writes_data", "not_a_query"}


def test_http_sql_check_answers_422_for_deep_or_huge_queries(stripe_registered, store):
    import httpx

    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.server.http import create_app
    from dativo_ingest.server.keys import create_key
    from tests.ai.server_util import running

    key = create_key(store, "ai-agent-1")[1]
    app = create_app(AIContextAPI(policy_guard=PolicyGuard({}), channel="http"))
    deep = "SELECT " + "(" * 500 + "1" + ")" * 500
    nested = "SELECT * FROM " + "(SELECT * FROM " * 100 + "stripe.customers" + ") s" * 100
    with running(app) as url:
        for path in ("/v1/sql/check", "/v1/sql/enforce"):
            for sql in (deep, nested, "SELECT 1" + " " * 200_000):
                r = httpx.post(
                    f"{url}{path}", headers={"Authorization": f"Bearer {key}"}, json={"sql": sql}, timeout=30
                )
                assert r.status_code == 422, (path, r.status_code, r.text[:200])


# functions that run SQL given as text or read files: refused unless vetted
@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("SELECT query_to_xml('select card_number from billing.invoices', true, true, '')", "postgres"),
        ("SELECT dblink('dbname=prod', 'select card_number from billing.invoices')", "postgres"),
        ("SELECT pg_read_file('/etc/passwd') FROM billing.invoices", "postgres"),
        ("SELECT load_file('/etc/passwd') FROM billing.invoices", "mysql"),
        ("SELECT amount, my_udf(card_number) FROM billing.invoices", "duckdb"),
    ],
)
def test_functions_the_checks_cannot_see_into_are_refused(resolve, sql, dialect):
    report = enforce_sql(sql, resolve, REDACT, "acme-bot", dialect)
    assert not report.allowed and report.sql is None
    assert "unknown_function" in {v.kind for v in report.violations}


def test_vetted_and_common_functions_pass(con, resolve):
    common = "SELECT date_part('year', issued_at) AS y, now() > issued_at AS past FROM billing.invoices"
    report = enforce_sql(common, resolve, REDACT, "acme-bot", "duckdb")
    assert report.allowed, report.reasons
    con.create_function("my_udf", lambda s: s, ["VARCHAR"], "VARCHAR")
    vetted = load_policy({**REDACT.model_dump(), "allowed_functions": ["MY_UDF"]})
    report = enforce_sql(
        "SELECT my_udf(card_number) FROM billing.invoices", resolve, vetted, "acme-bot", "duckdb"
    )
    assert report.allowed, report.reasons
    assert no_secret(con, report.sql) == [(None,)]  # the UDF sees the masked value
