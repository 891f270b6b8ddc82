"""Machinery behind :mod:`dativo_ingest.ai_context_api`: the contract catalog (registry + search index)
and adapters to lineage and FinOps that degrade to empty answers when their data is absent.

:mod:`dativo_ingest.context.api` holds :class:`AIContextAPI` itself. Modules here import packages only,
never the public faces."""
