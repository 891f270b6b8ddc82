"""FinOps: measured run costs, attribution, anomaly detection and FOCUS billing export.

Write side::

    finops = FinOpsMetrics("acme", "stripe-ingest", cost_center="analytics")
    with finops.measure():          # real process CPU (user + system) and peak RSS
        run_ingestion()
    finops.record_data_ingested(n_bytes)
    summary = finops.finish()       # priced with the pricing catalog, stored in the workspace store

Read side (CLI ``dativo finops``, AI context API): :func:`get_cost_summary`, :func:`get_recent_runs`,
:func:`cost_report`, :func:`latest_anomalies`, :func:`export_focus`. ``store=None`` everywhere means
the current workspace's metadata store; ``FinOpsMetrics(store=False)`` keeps nothing.
This module is the public face; the machinery lives in its submodules (``tracker``, ``queries``,
``pricing``, ``calculator``, ``anomalies``, ``focus``, ...), which import each other by full module path
and never from this face. History tables and queries live in :mod:`dativo_ingest.store.finops`.
"""

from dativo_ingest.finops.anomalies import detect as detect_anomalies
from dativo_ingest.finops.measure import Measurement, ResourceMeter
from dativo_ingest.finops.pricing import PricingCatalog
from dativo_ingest.finops.queries import (
    cost_report,
    export_focus,
    get_cost_summary,
    get_recent_runs,
    latest_anomalies,
)
from dativo_ingest.finops.tracker import FinOpsMetrics

__all__ = [
    "FinOpsMetrics",
    "Measurement",
    "PricingCatalog",
    "ResourceMeter",
    "cost_report",
    "detect_anomalies",
    "export_focus",
    "get_cost_summary",
    "get_recent_runs",
    "latest_anomalies",
]
