"""SLAs: a contract's ``slaProperties`` (freshness/latency, frequency) checked from run history."""

from dativo_ingest.sla.check import check_contract, check_contracts, notify_breaches, sla_status
from dativo_ingest.sla.rules import SlaResult, SlaRule, SlaSubject, evaluate, sla_rules

__all__ = [
    "SlaResult",
    "SlaRule",
    "SlaSubject",
    "check_contract",
    "check_contracts",
    "evaluate",
    "notify_breaches",
    "sla_rules",
    "sla_status",
]
