"""Search index over registered contracts: relevance-ranked text search plus facet filters.

Each contract (latest version) is one row of ``search_documents`` and a few text units: ``asset``
(names and tags), ``about`` (description, domain, owner), field ``name`` and field ``detail``
(description, examples, tags) units carrying the fields' inherited classification labels; units of the
same kind and labels are merged into one row. Searches only match units the requester may see
(:class:`Visibility`), so a query never reveals what the policy withholds.

On SQLite the units live in an FTS5 table whose visibility tokens are filtered inside the full-text
query. A contract ranks by the kind of its best matching unit (asset names 9, field names 4,
descriptions 1), doubled when that unit holds every query word; ties go to the contract indexed
first. The ranking classes are read in rowid order and reading stops once ``limit`` contracts are
found, so a common word costs as little as a rare one; few matches, or a filter leaving few
candidates, are scored directly. Query words complete against the indexed words
(:data:`search_terms`) rather than FTS5 prefix queries, which would merge every doclist up front.
On other databases the units live in a plain table searched with ``LIKE`` (portable, linear, adequate
for thousands of contracts) and rank by matching units weighted by kind.
"""

from dativo_ingest.store.search import tables  # noqa: F401  (registers the migrations)
from dativo_ingest.store.search.browse import visible_documents
from dativo_ingest.store.search.indexing import optimize, remove, upsert
from dativo_ingest.store.search.lookup import document, latest_versions, lookup, versions
from dativo_ingest.store.search.query import search
from dativo_ingest.store.search.visibility import Visibility

__all__ = [
    "Visibility",
    "document",
    "latest_versions",
    "lookup",
    "optimize",
    "remove",
    "search",
    "upsert",
    "versions",
    "visible_documents",
]
