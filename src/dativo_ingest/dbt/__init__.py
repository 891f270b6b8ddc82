"""dbt generation behind :mod:`dativo_ingest.dbt_integration` (its public face): documents, staging SQL,
data tests, whole projects and the manifest import. Submodules import each other by full module path;
this package re-exports nothing."""
