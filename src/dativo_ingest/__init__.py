"""dativo: contract-governed data ingestion."""

__version__ = "0.2.0"
