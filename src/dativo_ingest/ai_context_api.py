"""AI Context API: governed, audited metadata for AI agents (schema, meaning, ownership, classification,
lineage, cost) — never rows.

::

    policy = PolicyGuard({"allowed_requesters": ["ai-agent-1"], "elevated_requesters": ["admin-bot"]})
    api = AIContextAPI(policy_guard=policy)          # the workspace's registry and metadata store
    context = api.get_asset_context("stripe", "customers", requester="ai-agent-1")
    api.search_assets("customer email", classification=["PII"], requester="ai-agent-1")
    api.enforce_sql("SELECT * FROM stripe.customers", requester="ai-agent-1")

Every call is one policy decision, recorded in the audit log (``dativo audit``). A requester outside a
non-empty allow list gets :class:`PermissionError`; restricted classifications (PII and SENSITIVE by
default) are redacted, hidden or refused for requesters who are not elevated (see
:mod:`dativo_ingest.policy`). The HTTP API (``dativo serve``) and MCP server (``dativo mcp``) are thin
faces over this class and authenticate the requester by API key. This module is the public face; the
machinery lives in :mod:`dativo_ingest.context` and :mod:`dativo_ingest.policy`.
"""

from dativo_ingest.context.api import AIContextAPI
from dativo_ingest.policy.config import PolicyConfig
from dativo_ingest.policy.guard import PolicyGuard

__all__ = ["AIContextAPI", "PolicyConfig", "PolicyGuard"]
