"""Page data of the web catalog (:mod:`dativo_ingest.catalog_web` renders it)."""

from dativo_ingest.catalog_pages.service import Browse, CatalogPages

__all__ = ["Browse", "CatalogPages"]
