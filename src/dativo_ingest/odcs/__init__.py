"""ODCS machinery: canonical model, dialect detection, ODCS conversion, JSON Schema and semantic validation."""
