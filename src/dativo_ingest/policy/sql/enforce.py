"""The two entry points: :func:`check_sql` reports what a query does against the contracts it reads;
:func:`enforce_sql` also rewrites it into the compliant query when nothing is refused.
"""

from __future__ import annotations

from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.sql.analysis import Analysis, Resolver
from dativo_ingest.policy.sql.report import SQLReport
from dativo_ingest.policy.sql.rewrite import rewrite


def check_sql(
    sql: str, resolve: Resolver, policy: PolicyConfig, requester: str, dialect: str | None = None
) -> SQLReport:
    """Findings for ``sql`` as ``requester`` would run it (see :mod:`dativo_ingest.policy.sql`)."""
    return Analysis(sql, resolve, policy, requester, dialect).report


def enforce_sql(
    sql: str, resolve: Resolver, policy: PolicyConfig, requester: str, dialect: str | None = None
) -> SQLReport:
    """The findings plus, when nothing is refused, the rewritten compliant query in ``report.sql``.

    Every stored table the query reads is replaced by its governed subquery; anything that cannot be
    resolved to a contract the requester may query (or an allowed unmanaged table) refuses the query.
    """
    analysis = Analysis(sql, resolve, policy, requester, dialect)
    if analysis.report.allowed:
        analysis.report.sql = rewrite(analysis.tree, analysis.refs, analysis.governed, analysis.dialect)
    return analysis.report
