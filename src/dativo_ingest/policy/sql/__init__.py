"""Query-time enforcement: check an agent's SQL against the contracts of the tables it reads.

:func:`check_sql` parses one query with sqlglot, resolves each table to a contract (through a
``resolve(table) -> asset | None`` callback), attributes every column to its table through the query's
scopes (CTEs and subqueries included) and reports :class:`Violation` s: restricted columns used in
predicates, joins, grouping or ordering (``error``: refused), restricted columns in the output or under
``SELECT *`` (``fix``: masked or left out), missing retention and consent predicates (``fix``), columns
the requester cannot see (``error``), tables that are not available to the requester — refused by the
policy, governed by no contract, ambiguous, table functions — (``error``: one uniform message, nothing
else about them), and statements that write (``error``). :func:`enforce_sql` rewrites the query so that
every table it reads is read through a governed subquery: declared columns only, restricted ones as
``NULL`` under their logical name (``redact``) or absent (``hide``), rows limited to the retention window
and to consenting users. Retention and consent bind everyone; elevation only lifts column restrictions.

Enforcement fails closed: a table reference is a CTE only when a CTE of that name is visible at that
point of the query; every other reference must resolve to a contract the requester may query (or be
listed in the policy's ``allowed_unmanaged_tables``), else the query is refused. Queries too large or
too deeply nested to analyse are refused with :class:`SQLTooComplexError` (HTTP 422).

Modules: :mod:`.limits` parses within size and nesting caps, :mod:`.report` holds the findings,
:mod:`.governance` says what a contract lets a requester see, :mod:`.tables` finds and classifies table
references, :mod:`.predicates` tells predicate uses and bounds, :mod:`.analysis` produces the findings,
:mod:`.rewrite` builds the governed query and :mod:`.enforce` holds the two entry points.
"""

from dativo_ingest.policy.sql.enforce import check_sql, enforce_sql
from dativo_ingest.policy.sql.limits import SQLTooComplexError
from dativo_ingest.policy.sql.report import SQLReport, Violation

__all__ = [
    "SQLReport",
    "SQLTooComplexError",
    "Violation",
    "check_sql",
    "enforce_sql",
]
