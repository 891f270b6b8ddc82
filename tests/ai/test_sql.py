"""Query-time enforcement: findings of check_sql, and enforce_sql's rewrite executed on real DuckDB."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dativo_ingest.errors import UsageError
from dativo_ingest.policy import check_sql, enforce_sql, load_policy
from tests.ai.conftest import make_asset

FIELDS = [
    {"name": "id", "type": "string", "required": True},
    {"name": "email", "type": "string", "classification": "PII", "description": "Customer email"},
    {"name": "country", "type": "string"},
    {"name": "created_at", "type": "timestamp"},
    {"name": "marketing_consent", "type": "boolean"},
]


@pytest.fixture
def customers():
    return make_asset(
        "shop",
        "customers",
        FIELDS,
        compliance={
            "classification": ["PII"],
            "retention_days": 30,
            "event_time_column": "created_at",
            "user_consent_required": True,
            "consent_column": "marketing_consent",
        },
    )


def resolver(*assets):
    by_name = {}
    for a in assets:
        by_name[f"{a.source_type}.{a.object_name}"] = a
        by_name[a.object_name] = a

    def resolve(table):
        return by_name.get(".".join(p.name for p in table.parts)) or by_name.get(table.name)

    return resolve


REDACT = load_policy({"allowed_requesters": ["bot", "admin"], "elevated_requesters": ["admin"]})
HIDE = load_policy({"on_restricted": "hide"})
DENY = load_policy({"on_restricted": "deny", "elevated_requesters": ["admin"]})


def kinds(report, severity=None):
    return sorted({v.kind for v in report.violations if severity is None or v.severity == severity})


def test_compliant_query_has_no_findings(customers):
    sql = (
        "SELECT id, country FROM shop.customers c WHERE c.created_at >= now() - INTERVAL 7 DAY "
        "AND c.marketing_consent = TRUE"
    )
    report = check_sql(sql, resolver(customers), REDACT, "bot", "duckdb")
    assert report.compliant and report.violations == []
    assert report.tables == [{"table": "shop.customers", "contract": "shop/customers"}]


def test_missing_predicates_and_masked_projection_are_fixable(customers):
    report = check_sql("SELECT id, email FROM shop.customers", resolver(customers), REDACT, "bot")
    assert kinds(report) == ["missing_consent_predicate", "missing_retention_predicate", "restricted_column"]
    assert report.allowed and not report.compliant


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM shop.customers WHERE email = 'a@b.c'",
        "SELECT country, count(*) FROM shop.customers GROUP BY email, country",
        "SELECT id FROM shop.customers ORDER BY email",
        "SELECT c.id FROM shop.customers c JOIN shop.customers d ON c.email = d.email",
        "WITH x AS (SELECT * FROM shop.customers) SELECT id FROM x WHERE x.email LIKE '%@corp.com'",
        "SELECT id FROM (SELECT id, lower(email) AS e FROM shop.customers) s WHERE s.e = 'x'",
        "SELECT row_number() OVER (ORDER BY email) FROM shop.customers",
    ],
)
def test_restricted_column_in_predicates_is_refused(customers, sql):
    report = enforce_sql(sql, resolver(customers), REDACT, "bot", "duckdb")
    assert "restricted_column" in kinds(report, "error")
    assert not report.allowed and report.sql is None
    # elevation lifts the column restriction (retention and consent still bind)
    elevated = check_sql(sql, resolver(customers), REDACT, "admin", "duckdb")
    assert "restricted_column" not in kinds(elevated)


def test_hide_refuses_explicit_reference_and_drops_star_columns(customers):
    # a hidden column is reported exactly like an undeclared one (no existence oracle)
    hidden = check_sql("SELECT email FROM shop.customers", resolver(customers), HIDE, "bot")
    undeclared = check_sql("SELECT nope FROM shop.customers", resolver(customers), HIDE, "bot")
    assert "unknown_column" in kinds(hidden, "error")
    assert [v.message.replace("email", "nope") for v in hidden.violations] == [
        v.message for v in undeclared.violations
    ]
    report = enforce_sql("SELECT * FROM shop.customers", resolver(customers), HIDE, "bot", "duckdb")
    assert report.allowed and "select_star" in kinds(report)
    assert "email" not in report.sql.lower()


def test_deny_mode_refuses_restricted_asset(customers):
    report = check_sql("SELECT id FROM shop.customers", resolver(customers), DENY, "bot")
    assert "access_denied" in kinds(report, "error")
    assert "access_denied" not in kinds(
        check_sql("SELECT id FROM shop.customers", resolver(customers), DENY, "admin")
    )


def test_unknown_columns_tables_and_statements(customers):
    r = check_sql("SELECT nope FROM shop.customers", resolver(customers), REDACT, "bot")
    assert "unknown_column" in kinds(r, "error")
    r = check_sql("SELECT * FROM other.table_x", resolver(customers), REDACT, "bot")
    assert kinds(r, "error") == ["access_denied"] and not r.allowed
    assert r.reasons == ["table other.table_x is not available to you"]
    r = check_sql("DELETE FROM shop.customers", resolver(customers), REDACT, "bot")
    assert kinds(r, "error") == ["not_a_query"]
    with pytest.raises(UsageError, match="cannot parse SQL"):
        check_sql("SELEC id FROM", resolver(customers), REDACT, "bot")
    with pytest.raises(UsageError, match="exactly one"):
        check_sql("SELECT 1; SELECT 2", resolver(customers), REDACT, "bot")


@pytest.mark.parametrize(
    "fields",
    [
        [{"name": "id", "type": "string"}],
        [{"name": "id", "type": "string"}, {"name": "consent", "type": "boolean"}],
    ],
    ids=["no-column", "undeclared-boolean-column-is-not-guessed"],
)
def test_consent_without_consent_column_cannot_be_enforced(fields):
    asset = make_asset("shop", "leads", fields, compliance={"user_consent_required": True})
    report = enforce_sql("SELECT id FROM shop.leads", resolver(asset), REDACT, "bot")
    assert kinds(report, "error") == ["consent_unenforceable"] and report.sql is None


def test_enforced_query_runs_on_duckdb_with_masking_retention_and_consent(customers):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA shop")
    con.execute(
        "CREATE TABLE shop.customers (id VARCHAR, email VARCHAR, country VARCHAR, "
        "created_at TIMESTAMP, marketing_consent BOOLEAN)"
    )
    now = datetime.now()
    rows = [
        ("recent-yes", "a@x.io", "DE", now - timedelta(days=1), True),
        ("recent-no", "b@x.io", "DE", now - timedelta(days=2), False),
        ("old-yes", "c@x.io", "FR", now - timedelta(days=45), True),
        ("recent-yes-2", "d@x.io", "FR", now - timedelta(days=29), True),
    ]
    con.executemany("INSERT INTO shop.customers VALUES (?, ?, ?, ?, ?)", rows)
    sql = "SELECT c.id, c.email, upper(c.country) AS country FROM shop.customers AS c ORDER BY c.id"
    report = enforce_sql(sql, resolver(customers), REDACT, "bot", "duckdb")
    assert report.allowed, report.reasons
    got = con.execute(report.sql).fetchall()
    assert got == [("recent-yes", None, "DE"), ("recent-yes-2", None, "FR")]
    # the same query, unenforced, would have shown everything
    assert len(con.execute(sql).fetchall()) == 4
    # SELECT * keeps the table's shape with the PII column masked
    star = enforce_sql("SELECT * FROM shop.customers", resolver(customers), REDACT, "bot", "duckdb")
    result = con.execute(star.sql)
    assert [d[0] for d in result.description] == ["id", "email", "country", "created_at", "marketing_consent"]
    assert {r[1] for r in result.fetchall()} == {None}
    # an elevated requester keeps the column but not rows outside retention or consent
    admin = enforce_sql(sql, resolver(customers), REDACT, "admin", "duckdb")
    assert con.execute(admin.sql).fetchall() == [
        ("recent-yes", "a@x.io", "DE"),
        ("recent-yes-2", "d@x.io", "FR"),
    ]
    # the rewrite is deterministic
    assert enforce_sql(sql, resolver(customers), REDACT, "bot", "duckdb").sql == report.sql


def test_nested_restricted_field_masks_its_top_level_column():
    asset = make_asset(
        "shop",
        "orders",
        [
            {"name": "id", "type": "string"},
            {
                "name": "customer",
                "type": "object",
                "properties": [
                    {"name": "name", "type": "string"},
                    {"name": "phone", "type": "string", "classification": "PII"},
                ],
            },
        ],
    )
    report = enforce_sql("SELECT id, customer FROM shop.orders", resolver(asset), REDACT, "bot", "duckdb")
    assert "NULL AS customer" in report.sql
