"""Policy decisions (pure): the policy document, access rules, field treatment, agent views, SQL checks.

:mod:`.config` reads the policy, :mod:`.rules` decides access, :mod:`.fields` says which fields are
restricted for whom, :mod:`.views` builds what an agent sees, :mod:`.sql` checks and rewrites queries,
:mod:`.guard` adds the audit trail around every decision.
"""

from dativo_ingest.policy.config import PolicyConfig, load_policy
from dativo_ingest.policy.rules import RULES, AccessRequest, Decision, evaluate
from dativo_ingest.policy.sql import SQLReport, Violation, check_sql, enforce_sql

__all__ = [
    "RULES",
    "AccessRequest",
    "Decision",
    "PolicyConfig",
    "SQLReport",
    "Violation",
    "check_sql",
    "enforce_sql",
    "evaluate",
    "load_policy",
]
