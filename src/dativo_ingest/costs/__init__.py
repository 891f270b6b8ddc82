"""FinOps machinery behind :mod:`dativo_ingest.finops`: pricing catalog, cost maths, measurement,
anomaly statistics and the FOCUS billing export. Import the public face from ``dativo_ingest.finops``;
modules here may change freely.
"""
