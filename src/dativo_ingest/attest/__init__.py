"""``contract test``: the contract's checks run against data at rest (databases, Iceberg tables, files).

:mod:`.results` holds the pure result model (check ids, thresholds, JSON and JUnit); :mod:`.servers`
finds the data from the contract's ``servers`` or a job config; :mod:`.sqlengine` compiles the checks to
SQL aggregates run inside PostgreSQL or MySQL; :mod:`.streamed` streams Iceberg scans and files through
the ingestion validator; :mod:`.tester` runs one test, masks failed-row samples by policy, records the
results in the quality history and emits the OpenLineage event.
"""
