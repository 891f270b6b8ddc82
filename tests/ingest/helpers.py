"""Shared helpers for ingestion tests: a contract, CSV writers, a job-file writer and local JSON APIs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


# ----- local JSON APIs (real HTTP servers on 127.0.0.1) -------------------------------------------
class JsonApi(BaseHTTPRequestHandler):
    """Base of the tests' JSON endpoints: :meth:`send_json`, no request log."""

    def send_json(self, body: Any, status: int = 200) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` behind a real HTTP server on 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class PagedCustomersApi(JsonApi):
    """Stripe-style pages of ``cus_1`` .. ``cus_7`` (``starting_after``, ``limit``, ``has_more``) behind a
    bearer token; answers 429 to the first ``fail_first`` calls and records every path in ``calls``."""

    calls: list[str] = []
    fail_first = 1

    def do_GET(self) -> None:
        PagedCustomersApi.calls.append(self.path)
        if PagedCustomersApi.fail_first > 0:
            PagedCustomersApi.fail_first -= 1
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        if self.headers.get("Authorization") != "Bearer tok_secret_123":
            self.send_response(401)
            self.end_headers()
            return
        query = parse_qs(urlsplit(self.path).query)
        start = int(query.get("starting_after", ["cus_0"])[0].split("_")[1]) + 1
        ids = list(range(start, min(start + int(query["limit"][0]), 8)))
        rows = [{"id": f"cus_{i}", "n": i, "ts": 1700000000 + i} for i in ids]
        self.send_json({"data": rows, "has_more": ids[-1] < 7})
