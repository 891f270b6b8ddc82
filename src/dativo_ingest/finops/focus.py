"""FOCUS 1.2 / 1.3 cost and usage rows from stored charges, written as CSV or Parquet.

One row per priced charge of a run (CPU, memory, storage, network, API calls per type). Every
mandatory FOCUS column is filled, plus the conditional columns dativo can fill honestly
(consumed quantity, list and contracted unit prices, SKU, resource, sub account, tags), the
recommended InvoiceId and ``x_`` columns naming the run. Costs carry no discounts: BilledCost =
EffectiveCost = ContractedCost = quantity x the tenant's price; ListCost uses the catalog's list
price. Runs belong to the month in which they started; a charge period running past the month end is
cut at the billing period end.

Each kind of charge is its own service (``<service name> compute``, ``... storage``, ``... network``,
``... API``) so that every ServiceName has exactly one ServiceCategory and one ServiceSubcategory, as
FOCUS requires. InvoiceId names the billing account's provisional invoice for the month
(``<billing account>-YYYY-MM``): dativo issues no invoices itself, and FOCUS allows an InvoiceId that
is generated before an invoice is issued.

FOCUS 1.3 (``version="1.3"``) adds ServiceProviderName and HostProviderName (both mandatory; the
deprecated ProviderName and PublisherName stay for 1.2 readers), the split cost allocation columns
(AllocatedMethodId, AllocatedMethodDetails, AllocatedResourceId, AllocatedResourceName,
AllocatedTags: present and null, because dativo measures each run's usage directly and never splits a
shared charge) and the dataset metadata (DataGenerator, DatasetInstance, Recency, Schema) that
:func:`dataset_metadata` builds and :func:`write` stores beside the data file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dativo_ingest import __version__
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
RECOMMENDED = ("InvoiceId",)
OPTIONAL = ("ChargeFrequency", "ServiceSubcategory")
CUSTOM = ("x_RunId", "x_JobName", "x_CostCenter", "x_PricingCatalog")
#: FOCUS 1.2 columns, in file order.
COLUMNS = (*MANDATORY, *CONDITIONAL, *RECOMMENDED, *OPTIONAL, *CUSTOM)

#: FOCUS versions the export writes; 1.2 is the default.
VERSIONS = ("1.2", "1.3")
DEFAULT_VERSION = "1.2"
#: Columns FOCUS 1.3 makes mandatory (ProviderName and PublisherName are deprecated, still written).
MANDATORY_1_3 = ("HostProviderName", "ServiceProviderName")
#: FOCUS 1.3 split cost allocation columns; null on every row (dativo does not split shared charges).
ALLOCATION_1_3 = (
    "AllocatedMethodDetails",
    "AllocatedMethodId",
    "AllocatedResourceId",
    "AllocatedResourceName",
    "AllocatedTags",
)
COLUMNS_1_3 = (*MANDATORY, *MANDATORY_1_3, *CONDITIONAL, *ALLOCATION_1_3, *RECOMMENDED, *OPTIONAL, *CUSTOM)

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
#: charge category -> (ServiceName suffix, ServiceCategory, ServiceSubcategory); one category per service.
SERVICE = {
    "compute": ("compute", "Compute", "Other (Compute)"),
    "storage": ("storage", "Storage", "Other (Storage)"),
    "network": ("network", "Networking", "Other (Networking)"),
    "api": ("API", "Integration", "Other (Integration)"),
}
#: JSON (KeyValueFormat) columns, written as compact sorted JSON text.
JSON_COLUMNS = frozenset({"Tags", "AllocatedTags", "AllocatedMethodDetails"})
METERS = {
    "compute.cpu": "CPU Time",
    "compute.memory": "Memory",
    "storage": "Storage",
    "network": "Data Transfer",
}


def check_version(version: str) -> str:
    """``version`` when the export writes it, else a :class:`UsageError` on ``focus_version``."""
    if version not in VERSIONS:
        raise UsageError(f"must be one of {', '.join(VERSIONS)}; got {version!r}", field="focus_version")
    return version


def columns(version: str = DEFAULT_VERSION) -> tuple[str, ...]:
    """The columns of a FOCUS ``version`` file, in file order."""
    return COLUMNS_1_3 if check_version(version) == "1.3" else COLUMNS


def invoice_id(billing: BillingIdentity, period_start: datetime) -> str:
    """The billing account's provisional invoice for the month starting at ``period_start``."""
    return f"{billing.billing_account_id}-{period_start:%Y-%m}"


def focus_time(moment: datetime) -> str:
    """FOCUS DateTime text: UTC, second precision, ``Z`` suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(moment: datetime, *, up: bool = False) -> datetime:
    floored = moment.replace(microsecond=0)
    return floored + timedelta(seconds=1) if up and moment.microsecond else floored


def focus_rows(
    charges: list[dict[str, Any]],
    period_start: datetime,
    period_end: datetime,
    billing: BillingIdentity,
    *,
    version: str = DEFAULT_VERSION,
) -> list[dict[str, Any]]:
    """FOCUS rows (values as Python objects: Decimal, datetime, str, None) for stored charges.

    Each row holds exactly the columns of :func:`columns` for ``version``.
    """
    wanted = columns(version)
    rows: list[dict[str, Any]] = []
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
        tags: dict[str, str] = {"tenant_id": ch["tenant_id"], "job_name": ch["job_name"]}
        if ch["cost_center"] is not None:
            tags["cost_center"] = ch["cost_center"]
        cost = from_nano(ch["cost_nusd"])
        service, service_category, subcategory = SERVICE[category]
        row: dict[str, Any] = {
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
            "ServiceName": f"{billing.service_name} {service}",
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
            "InvoiceId": invoice_id(billing, period_start),
            "ChargeFrequency": "Usage-Based",
            "ServiceSubcategory": subcategory,
            "x_RunId": ch["run_id"],
            "x_JobName": ch["job_name"],
            "x_CostCenter": ch["cost_center"],
            "x_PricingCatalog": f"{ch['pricing_catalog']}:{ch['pricing_version']}",
            # FOCUS 1.3: dativo both provides the service and hosts it (it runs on the workspace's
            # own machines, which dativo does not bill); no charge is a split cost allocation.
            "ServiceProviderName": billing.provider,
            "HostProviderName": billing.provider,
            **dict.fromkeys(ALLOCATION_1_3),
        }
        rows.append({c: row[c] for c in wanted})
    return rows


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _text(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in DECIMAL_COLUMNS:
        return format(value, "f")
    if column in DATETIME_COLUMNS:
        return focus_time(value)
    if column in JSON_COLUMNS:
        return _json(value)
    return str(value)


def _row_columns(rows: list[dict[str, Any]], version: str) -> tuple[str, ...]:
    wanted = columns(version)
    if rows and tuple(rows[0]) != wanted:
        raise ValueError(f"rows do not hold the FOCUS {version} columns (build them with the same version)")
    return wanted


def to_csv(rows: list[dict[str, Any]], *, version: str = DEFAULT_VERSION) -> str:
    """CSV text: header of :func:`columns`, empty cells for nulls, ``\\n`` line ends."""
    wanted = _row_columns(rows, version)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(wanted)
    for row in rows:
        writer.writerow([_text(c, row[c]) for c in wanted])
    return buffer.getvalue()


def _arrow_type(column: str) -> pa.DataType:
    if column in DECIMAL_COLUMNS:
        return pa.decimal128(38, 12)
    if column in DATETIME_COLUMNS:
        return pa.timestamp("s", tz="UTC")
    return pa.string()


def arrow_schema(version: str = DEFAULT_VERSION) -> pa.Schema:
    """decimal128(38, 12) costs and quantities, UTC timestamps, strings (JSON text for key-value columns)."""
    not_null = frozenset(MANDATORY) | frozenset(MANDATORY_1_3)
    return pa.schema(
        [
            pa.field(c, _arrow_type(c), nullable=c not in not_null or c == "ChargeClass")
            for c in columns(version)
        ]
    )


def to_arrow(rows: list[dict[str, Any]], *, version: str = DEFAULT_VERSION) -> pa.Table:
    """A pyarrow Table of ``rows`` with :func:`arrow_schema`."""
    wanted = _row_columns(rows, version)
    data = {
        c: [_json(r[c]) if c in JSON_COLUMNS and r[c] is not None else r[c] for r in rows] for c in wanted
    }
    return pa.table(data, schema=arrow_schema(version))


def metadata_path(out: str | Path) -> Path:
    """Where :func:`write` puts a FOCUS 1.3 file's dataset metadata: ``<file>.metadata.json``."""
    path = Path(out)
    return path.with_name(f"{path.name}.metadata.json")


def _data_type(column: str) -> str:
    """The FOCUS data type of ``column`` (its ColumnDefinition DataType)."""
    if column in DECIMAL_COLUMNS:
        return "Decimal"
    if column in DATETIME_COLUMNS:
        return "Date/Time"
    if column in JSON_COLUMNS:
        return "JSON"
    return "String"


def dataset_metadata(
    billing: BillingIdentity,
    period_start: datetime,
    period_end: datetime,
    *,
    generated_at: datetime,
    tenant_id: str | None = None,
    version: str = "1.3",
) -> dict[str, Any]:
    """FOCUS 1.3 dataset metadata for one month's Cost and Usage file.

    The collections FOCUS 1.3 adds: ``DatasetInstance`` (one Cost and Usage instance per billing
    account and tenant filter, with a stable id), ``Recency`` (one time sector per billing month,
    complete once the month has ended at ``generated_at``) and ``Schema`` (the file's columns and
    data types), plus ``DataGenerator``. Nothing in it depends on the data rows, so it can be read
    without opening the data file.
    """
    scope = f"{billing.billing_account_id}/{tenant_id}" if tenant_id else billing.billing_account_id
    instance_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dativo:focus:CostAndUsage:{scope}"))
    name = f"{billing.billing_account_name} cost and usage" + (f" ({tenant_id})" if tenant_id else "")
    definitions: list[dict[str, Any]] = [
        {"ColumnName": c, "DataType": _data_type(c)} for c in columns(version)
    ]
    for definition in definitions:
        if definition["DataType"] == "Decimal":
            definition.update({"NumericPrecision": 38, "NumberScale": 12})
    schema_id = hashlib.sha256(_json([version, definitions]).encode("utf-8")).hexdigest()[:16]
    updated = focus_time(generated_at)
    return {
        "DataGenerator": {"DataGenerator": billing.provider, "DataGeneratorVersion": __version__},
        "DatasetInstance": [
            {"DatasetInstanceId": instance_id, "DatasetInstanceName": name, "FocusDatasetId": "CostAndUsage"}
        ],
        "Recency": [
            {
                "DatasetInstanceId": instance_id,
                "DatasetInstanceLastUpdated": updated,
                "TimeSectors": [
                    {
                        "TimeSectorStart": focus_time(period_start),
                        "TimeSectorEnd": focus_time(period_end),
                        "TimeSectorComplete": generated_at >= period_end,
                        "TimeSectorLastUpdated": updated,
                    }
                ],
            }
        ],
        "Schema": [
            {
                "SchemaId": schema_id,
                "FocusVersion": version,
                "CreationDate": updated,
                "DataGeneratorVersion": __version__,
                "DatasetInstanceId": instance_id,
                "ColumnDefinition": definitions,
            }
        ],
    }


def write(
    rows: list[dict[str, Any]],
    out: str | Path,
    *,
    version: str = DEFAULT_VERSION,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``rows`` to ``out`` (``.csv`` or ``.parquet``) atomically; returns the path.

    ``metadata`` (FOCUS 1.3 dataset metadata) is written beside it, to :func:`metadata_path`.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        atomic_write_text(path, to_csv(rows, version=version))
    elif suffix == ".parquet":
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(to_arrow(rows, version=version), tmp)
        tmp.replace(path)
    else:
        raise UsageError(f"must end in .csv or .parquet, got {path.name!r}", field="out")
    if metadata is not None:
        atomic_write_text(metadata_path(path), json.dumps(metadata, indent=2) + "\n")
    return path
