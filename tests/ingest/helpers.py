"""Shared helpers for ingestion tests: a contract, CSV writers and a job-file writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CUSTOMERS_CONTRACT: dict[str, Any] = {
    "apiVersion": "v3.0.2",
    "kind": "DataContract",
    "id": "stripe-customers-001",
    "name": "stripe_customers",
    "version": "1.0.0",
    "status": "active",
    "source_type": "stripe",
    "object": "customers",
    "team": {"owner": "data-team@company.com"},
    "schema": [
        {"name": "id", "type": "string", "required": True, "unique": True},
        {
            "name": "email",
            "type": "string",
            "required": True,
            "classification": "PII",
            "logicalTypeOptions": {"pattern": "^[^@]+@[^@]+$"},
        },
        {"name": "status", "type": "string"},
        {"name": "balance", "type": "long", "logicalTypeOptions": {"minimum": 0}},
        {"name": "created_at", "type": "timestamp", "required": True},
    ],
    "data_quality": {
        "expectations": [
            {"type": "accepted_values", "column": "status", "values": ["active", "inactive", "suspended"]},
        ]
    },
}

HEADER = "id,email,status,balance,created_at"


def write_contract(root: Path, contract: dict[str, Any] | None = None, name: str = "customers.yaml") -> Path:
    path = root / "assets" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(contract or CUSTOMERS_CONTRACT, sort_keys=False), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def good_rows(start: int, count: int) -> list[str]:
    return [
        f"cus_{i:06d},user{i}@example.com,active,{i % 1000},2024-01-{1 + i % 28:02d}T00:00:00Z"
        for i in range(start, start + count)
    ]


def write_job(root: Path, body: dict[str, Any], name: str = "job.yaml") -> Path:
    path = root / "jobs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    job = {"tenant_id": "acme", "name": "customers", "asset": "../assets/customers.yaml", **body}
    path.write_text(yaml.safe_dump(job, sort_keys=False), encoding="utf-8")
    return path
