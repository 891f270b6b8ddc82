"""Machinery behind :mod:`dativo_ingest.ai_context_api`: the contract catalog (registry + search index)
and adapters to lineage and FinOps that degrade to empty answers when those components are absent."""
