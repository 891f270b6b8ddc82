"""The demo's sample contracts, jobs and deterministic data (fixed seed, fixed dates: same bytes every time).

``stripe/customers`` is the spec's Quick Start contract, verbatim. ``shop/orders`` shows ranges, decimal
precision, accepted values and patterns. A few rows of each break their contract on purpose.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

STRIPE_CUSTOMERS = """\
# assets/stripe/v1.0/customers.yaml
$schema: schemas/odcs/dativo-odcs-3.0.2-extended.schema.json
apiVersion: v3.0.2
kind: DataContract
id: stripe-customers-001
name: stripe_customers
version: "1.0.0"
status: active
source_type: stripe
object: customers

# Governance
team:
  owner: data-team@company.com
  roles:
    - name: Data Steward
      email: steward@company.com
      responsibility: Data quality oversight

compliance:
  classification: [PII, SENSITIVE]
  regulations: [GDPR, CCPA]
  retention_days: 90
  security:
    access_control: role_based
    encryption_required: true
  user_consent_required: true

# Schema
schema:
  - name: id
    type: string
    required: true
    unique: true
    description: Unique customer identifier

  - name: email
    type: string
    required: true
    classification: PII
    description: Customer email address

  - name: created_at
    type: timestamp
    required: true
    description: Account creation timestamp

# Data Quality
data_quality:
  monitoring:
    enabled: true
    oncall_rotation: data-oncall@company.com
  expectations:
    - type: not_null
      column: id
    - type: unique
      column: id
    - type: accepted_values
      column: status
      values: [active, inactive, suspended]

# Change Management
change_management:
  policy: non-breaking
  approval_required: true
  notification_channels: [slack, email]
  version_history: true

# Metadata
description:
  purpose: Customer data from Stripe payments platform
  usage: Analytics, reporting, ML training
  limitations: Historical data limited to 90 days

tags: [stripe, customers, payments]
domain: customer-data
dataProduct: customer-360
"""

SHOP_ORDERS = """\
apiVersion: v3.0.2
kind: DataContract
id: shop-orders-001
name: shop_orders
version: "1.0.0"
status: active
source_type: shop
object: orders
team:
  owner: commerce-data@company.com
compliance:
  classification: [INTERNAL]
schema:
  - name: order_id
    type: long
    required: true
    unique: true
    description: Order number
  - name: customer_id
    type: string
    required: true
    description: Stripe customer id
    logicalTypeOptions:
      pattern: "^cus_[A-Za-z0-9]{14}$"
  - name: amount
    type: decimal
    physicalType: decimal(12,2)
    required: true
    description: Order total
    logicalTypeOptions:
      minimum: 0
  - name: currency
    type: string
    required: true
    description: ISO currency code
  - name: ordered_at
    type: timestamp
    required: true
    description: When the order was placed
data_quality:
  expectations:
    - type: accepted_values
      column: currency
      values: [USD, EUR, GBP]
description:
  purpose: Orders of the web shop
tags: [shop, orders]
domain: commerce
"""

CUSTOMERS_JOB = """\
# dativo run --config jobs/stripe_customers.yaml
tenant_id: acme
name: stripe-customers-ingest
asset: ../assets/stripe/v1.0/customers.yaml
source:
  type: csv
  path: ../data/stripe/customers.csv
target:
  type: iceberg
  namespace: bronze           # table: bronze.stripe_customers (+ bronze.stripe_customers_quarantine)
validation:
  mode: warn                  # strict: any bad row aborts the run and commits nothing
incremental:
  cursor_field: created_at
finops:
  cost_center: analytics
"""

ORDERS_JOB = """\
tenant_id: acme
name: shop-orders-ingest
asset: ../assets/shop/v1.0/orders.yaml
source:
  type: jsonl
  path: ../data/shop/orders.jsonl
target:
  namespace: bronze
finops:
  cost_center: commerce
"""

EXPOSURES = """\
# dativo dbt generate --exposures exposures.yaml: the dashboards that read the staging models.
exposures:
  - name: customer_health
    label: Customer health
    type: dashboard
    maturity: medium
    url: https://bi.example.com/dashboards/customer-health
    description: Sign-ups and active customers per week.
    depends_on: [stripe.customers]
    owner:
      name: Customer Success Analytics
      email: cs-analytics@company.com
  - name: revenue
    label: Revenue by customer
    type: dashboard
    maturity: high
    url: https://bi.example.com/dashboards/revenue
    description: Order revenue per customer and currency.
    depends_on: [shop.orders, stripe.customers]
    owner:
      name: Finance Analytics
      email: finance-analytics@company.com
"""

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def customer_id(rng: random.Random) -> str:
    return "cus_" + "".join(rng.choice(_ALNUM) for _ in range(14))


def customers_csv(rows: int = 200, seed: int = 7) -> tuple[str, list[str]]:
    """Customers as CSV text (with a ``status`` column the contract does not declare) and their ids.

    Broken on purpose: row 11 has no email, row 42 repeats row 3's id, row 97 has an impossible date.
    """
    rng = random.Random(seed)
    lines = ["id,email,created_at,status"]
    ids = []
    for i in range(rows):
        cid = customer_id(rng)
        ids.append(cid)
        created = (_EPOCH + timedelta(minutes=rng.randrange(0, 60 * 24 * 180))).strftime("%Y-%m-%dT%H:%M:%SZ")
        email = f"user{i}@example.com"
        status = rng.choice(["active", "active", "active", "inactive", "suspended"])
        if i == 11:
            email = ""
        if i == 42:
            cid = ids[3]
        if i == 97:
            created = "2024-02-30T10:00:00Z"
        lines.append(f"{cid},{email},{created},{status}")
    return "\n".join(lines) + "\n", ids


def orders_jsonl(customer_ids: list[str], rows: int = 300, seed: int = 11) -> str:
    """Orders as JSON Lines. Broken on purpose: a negative amount, an unknown currency, a bad customer id."""
    rng = random.Random(seed)
    out = []
    for i in range(rows):
        record = {
            "order_id": 100000 + i,
            "customer_id": rng.choice(customer_ids),
            "amount": f"{rng.randrange(100, 50000) / 100:.2f}",
            "currency": rng.choice(["USD", "EUR", "GBP"]),
            "ordered_at": (_EPOCH + timedelta(minutes=rng.randrange(0, 60 * 24 * 180))).isoformat(),
        }
        if i == 5:
            record["amount"] = "-12.50"
        if i == 77:
            record["currency"] = "XXX"
        if i == 150:
            record["customer_id"] = "not-a-customer"
        out.append(json.dumps(record, sort_keys=True))
    return "\n".join(out) + "\n"
