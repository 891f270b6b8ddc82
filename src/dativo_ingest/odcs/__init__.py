"""ODCS machinery: canonical model, dialects, ODCS conversion, JSON Schema and semantic validation."""
