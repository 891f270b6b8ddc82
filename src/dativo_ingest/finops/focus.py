"""FOCUS 1.2 cost and usage rows from stored charges, written as CSV or Parquet.

One row per priced charge of a run (CPU, memory, storage, network, API calls per type). Every
mandatory FOCUS 1.2 column is filled, plus the conditional columns dativo can fill honestly
(consumed quantity, list and contracted unit prices, SKU, resource, sub account, tags) and ``x_``
columns naming the run. Costs carry no discounts: BilledCost = EffectiveCost = ContractedCost =
quantity x the tenant's price; ListCost uses the catalog's list price. Runs belong to the month in
which they started; a charge period running past the month end is cut at the billing period end.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dativo_ingest.errors import UsageError
from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.finops.calculator import from_nano
from dativo_ingest.finops.pricing import BillingIdentity

MANDATORY = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
)
CONDITIONAL = (
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedUnitPrice",
    "ListUnitPrice",
    "PricingCategory",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "SkuId",
    "SkuMeter",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
)
OPTIONAL = ("ChargeFrequency", "ServiceSubcategory")
CUSTOM = ("x_RunId", "x_JobName", "x_CostCenter", "x_PricingCatalog")
COLUMNS = (*MANDATORY, *CONDITIONAL, *OPTIONAL, *CUSTOM)

DECIMAL_COLUMNS = frozenset(
    {
        "BilledCost",
        "ContractedCost",
        "EffectiveCost",
        "ListCost",
        "PricingQuantity",
        "ConsumedQuantity",
        "ContractedUnitPrice",
        "ListUnitPrice",
    }
)
DATETIME_COLUMNS = frozenset(
    {"BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"}
)

#: FOCUS unit strings for the catalog's units.
PRICING_UNITS = {
    "vCPU-hour": "vCPU-Hours",
    "GiB-hour": "GiB-Hours",
    "GiB-month": "GiB-Months",
    "GiB": "GiB",
    "1000 calls": "1000 Requests",
}
#: charge category -> (ServiceCategory, ServiceSubcategory)
SERVICE = {
    "compute": ("Compute", "Other (Compute)"),
    "storage": ("Storage", "Other (Storage)"),
    "network": ("Networking", "Other (Networking)"),
    "api": ("Integration", "Other (Integration)"),
}
METERS = {
    "compute.cpu": "CPU Time",
    "compute.memory": "Memory",
    "storage": "Storage",
    "network": "Data Transfer",
}


def focus_time(moment: datetime) -> str:
    """FOCUS DateTime text: UTC, second precision, ``Z`` suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(moment: datetime, *, up: bool = False) -> datetime:
    floored = moment.replace(microsecond=0)
    return floored + timedelta(seconds=1) if up and moment.microsecond else floored


def focus_rows(
    charges: list[dict[str, Any]], period_start: datetime, period_end: datetime, billing: BillingIdentity
) -> list[dict[str, Any]]:
    """FOCUS rows (values as Python objects: Decimal, datetime, str, None) for stored charges."""
    rows = []
    for ch in charges:
        start = max(_seconds(ch["started_at"]), period_start)
        end = min(max(_seconds(ch["finished_at"], up=True), start + timedelta(seconds=1)), period_end)
        if not start < end:
            continue
        category = ch["category"]
        api_type = ch["charge"].split(".", 1)[1] if category == "api" else None
        quantity = Decimal(ch["quantity"])
        unit = PRICING_UNITS[ch["unit"]]
        sku = f"dativo-{ch['charge'].replace('.', '-')}"
        tags = {"tenant_id": ch["tenant_id"], "job_name": ch["job_name"]}
        if ch["cost_center"] is not None:
            tags["cost_center"] = ch["cost_center"]
        cost = from_nano(ch["cost_nusd"])
        service_category, subcategory = SERVICE[category]
        rows.append(
            {
                "BilledCost": cost,
                "BillingAccountId": billing.billing_account_id,
                "BillingAccountName": billing.billing_account_name,
                "BillingCurrency": ch["currency"],
                "BillingPeriodEnd": period_end,
                "BillingPeriodStart": period_start,
                "ChargeCategory": "Usage",
                "ChargeClass": None,
                "ChargeDescription": f"{ch['description']} for job {ch['job_name']} ({ch['tenant_id']})",
                "ChargePeriodEnd": end,
                "ChargePeriodStart": start,
                "ContractedCost": cost,
                "EffectiveCost": cost,
                "InvoiceIssuerName": billing.invoice_issuer,
                "ListCost": from_nano(ch["list_cost_nusd"]),
                "PricingQuantity": quantity,
                "PricingUnit": unit,
                "ProviderName": billing.provider,
                "PublisherName": billing.provider,
                "ServiceCategory": service_category,
                "ServiceName": billing.service_name,
                "ConsumedQuantity": quantity,
                "ConsumedUnit": unit,
                "ContractedUnitPrice": Decimal(ch["unit_price"]),
                "ListUnitPrice": Decimal(ch["list_unit_price"]),
                "PricingCategory": "Standard",
                "ResourceId": f"{ch['tenant_id']}/{ch['job_name']}",
                "ResourceName": ch["job_name"],
                "ResourceType": "Ingestion Job",
                "SkuId": sku,
                "SkuMeter": METERS.get(ch["charge"], f"API Calls ({api_type})"),
                "SkuPriceId": f"{ch['pricing_catalog']}:{ch['pricing_version']}:{sku}:{ch['unit_price']}",
                "SubAccountId": ch["tenant_id"],
                "SubAccountName": ch["tenant_id"],
                "Tags": tags,
                "ChargeFrequency": "Usage-Based",
                "ServiceSubcategory": subcategory,
                "x_RunId": ch["run_id"],
                "x_JobName": ch["job_name"],
                "x_CostCenter": ch["cost_center"],
                "x_PricingCatalog": f"{ch['pricing_catalog']}:{ch['pricing_version']}",
            }
        )
    return rows


def _text(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in DECIMAL_COLUMNS:
        return format(value, "f")
    if column in DATETIME_COLUMNS:
        return focus_time(value)
    if column == "Tags":
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text: header of :data:`COLUMNS`, empty cells for nulls, ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_text(c, row[c]) for c in COLUMNS])
    return buffer.getvalue()


def to_arrow(rows: list[dict[str, Any]]) -> Any:
    """A pyarrow Table: decimal128(38, 12) costs and quantities, UTC timestamps, JSON Tags text."""

    def kind(column: str) -> Any:
        if column in DECIMAL_COLUMNS:
            return pa.decimal128(38, 12)
        if column in DATETIME_COLUMNS:
            return pa.timestamp("s", tz="UTC")
        return pa.string()

    schema = pa.schema([pa.field(c, kind(c), nullable=c not in _NOT_NULL) for c in COLUMNS])
    columns = {
        c: [json.dumps(r[c], sort_keys=True, separators=(",", ":")) if c == "Tags" else r[c] for r in rows]
        for c in COLUMNS
    }
    return pa.table(columns, schema=schema)


_NOT_NULL = frozenset(MANDATORY) - {"ChargeClass"}


def write(rows: list[dict[str, Any]], out: str | Path) -> Path:
    """Write ``rows`` to ``out`` (``.csv`` or ``.parquet``) atomically; returns the path."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        atomic_write_text(path, to_csv(rows))
        return path
    if suffix == ".parquet":
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(to_arrow(rows), tmp)
        tmp.replace(path)
        return path
    raise UsageError(f"must end in .csv or .parquet, got {path.name!r}", field="out")
