"""A JSON HTTP API, paged with a Stripe-style cursor (``has_more`` + ``starting_after=<last id>``).

Each page is one request with a timeout; 429 and 5xx answers and transport errors (refused
connection, timeout) are retried with exponential backoff (``backoff_seconds * 2**attempt``, capped,
``Retry-After`` honoured), up to ``max_retries`` times; any other 4xx fails the run at once. Records
are taken from ``records_path`` (dotted, ``data`` by default) and grouped into batches. Put tokens in
``${ENV_VAR}``: header values are never logged. A rejected record is quarantined with its 1-based row
number in the run and the page it came from.

```yaml
source:
  type: http
  url: https://api.stripe.com/v1/customers
  headers: {Authorization: "Bearer ${STRIPE_API_KEY}"}
  pagination: {type: cursor, page_size: 100}
  incremental_param: "created[gte]"    # receives the last committed cursor (epoch seconds for timestamps)
```

Use an inclusive parameter (``created[gte]``): the run itself drops the rows at the cursor value that
an earlier run read (:mod:`dativo_ingest.ingest.boundary`) and every row before it, so late rows sharing
the cursor's timestamp are not lost. ``created[gt]`` works too, but such late rows are never asked for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from dativo_ingest.errors import SourceError
from dativo_ingest.ingest.sources.base import (
    PAGE_COLUMN,
    Source,
    SourceNode,
    SourceOptions,
    records_to_batch,
    since_value,
)
from dativo_ingest.logging import get_logger, redact_text, register_secret

log = get_logger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class Pagination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["cursor", "none"] = "cursor"
    has_more_field: str = "has_more"
    cursor_param: str = "starting_after"
    cursor_from: str = "id"
    limit_param: str = "limit"
    page_size: int = Field(100, ge=1, le=10000)


class HttpOptions(SourceOptions):
    url: str
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    records_path: str = "data"
    pagination: Pagination = Field(default_factory=Pagination)
    incremental_param: str | None = None
    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(5, ge=0, le=20)
    backoff_seconds: float = Field(0.5, ge=0)
    max_backoff_seconds: float = Field(30.0, ge=0)
    max_pages: int | None = Field(None, ge=1)


class HttpSource(Source):
    """Pages through a JSON API and yields its records as batches."""

    type_name = "http"
    Options = HttpOptions
    options: HttpOptions

    def dataset(self) -> tuple[str, str]:
        parts = urlsplit(self.options.url)
        netloc = parts.netloc.rsplit("@", 1)[-1]  # never the credentials
        return f"{parts.scheme}://{netloc}", parts.path or "/"

    def lineage_node(self, source_type: str | None, object_name: str) -> SourceNode:
        """Named by the contract, located by the endpoint's URL (without credentials or query)."""
        namespace, name = self.dataset()
        return SourceNode(source_type or self.type_name, object_name, {"url": f"{namespace}{name}"})

    @property
    def where(self) -> str:
        """The URL as errors and logs show it: secrets (query tokens, passwords, ``${VAR}`` values) masked."""
        return redact_text(self.options.url)

    def batches(self) -> Iterator[pa.RecordBatch]:
        opts = self.options
        for value in opts.headers.values():
            register_secret(value.split(" ", 1)[-1] if value.lower().startswith("bearer ") else value)
        params = dict(opts.params)
        if opts.pagination.type == "cursor":
            params[opts.pagination.limit_param] = opts.pagination.page_size
        since = since_value(self.context.incremental)
        if since is not None and opts.incremental_param:
            params[opts.incremental_param] = _param_value(since.as_py())
        pending: list[dict[str, Any]] = []
        pending_pages: list[int] = []  # the page of each pending record
        pages = 0
        with httpx.Client(
            timeout=opts.timeout_seconds, headers=opts.headers, follow_redirects=True
        ) as client:
            while True:
                body = self._request(client, params)
                pages += 1
                records = _records(body, opts.records_path, self.where)
                pending.extend(records)
                pending_pages.extend([pages] * len(records))
                size = self.context.batch_size
                while len(pending) >= size:
                    chunk, pending = pending[:size], pending[size:]
                    chunk_pages, pending_pages = pending_pages[:size], pending_pages[size:]
                    yield _batch(chunk, chunk_pages, self.context.columns)
                if opts.pagination.type != "cursor" or not records:
                    break
                if not (isinstance(body, dict) and body.get(opts.pagination.has_more_field)):
                    break
                if opts.max_pages and pages >= opts.max_pages:
                    break
                last = records[-1].get(opts.pagination.cursor_from) if isinstance(records[-1], dict) else None
                if last is None:
                    raise SourceError(
                        f"last record has no {opts.pagination.cursor_from!r} to page from", path=self.where
                    )
                params[opts.pagination.cursor_param] = last
        if pending:
            yield _batch(pending, pending_pages, self.context.columns)

    def _request(self, client: Any, params: dict[str, Any]) -> Any:
        opts = self.options
        attempt = 0
        while True:
            self.stats.api_calls += 1
            problem: str
            retry_after: float | None = None
            try:
                response = client.request(opts.method, opts.url, params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                self.stats.bytes_read += len(response.content)
                if response.status_code < 300:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise SourceError("response is not JSON", path=self.where) from exc
                problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUS:
                    raise SourceError(f"{problem}: {redact_text(response.text[:200])}", path=self.where)
                retry_after = _retry_after(response.headers.get("Retry-After"))
            if attempt >= opts.max_retries:
                raise SourceError(f"{redact_text(problem)} after {attempt + 1} attempts", path=self.where)
            delay = min(opts.max_backoff_seconds, opts.backoff_seconds * (2**attempt))
            if retry_after is not None:
                delay = min(opts.max_backoff_seconds, max(delay, retry_after))
            log.warning(
                "retrying request",
                extra={
                    "fields": {
                        "url": self.where,
                        "problem": redact_text(problem),
                        "attempt": attempt + 1,
                        "delay_s": delay,
                    }
                },
            )
            time.sleep(delay)
            attempt += 1


def _batch(records: list[dict[str, Any]], pages: list[int], columns: dict[str, Any]) -> pa.RecordBatch:
    """The records as a batch, with the page each came from (for quarantine positions)."""
    batch = records_to_batch(records, columns)
    return batch.append_column(PAGE_COLUMN, pa.array(pages, type=pa.int64()))


def _records(body: Any, path: str, url: str) -> list[dict[str, Any]]:
    node = body
    for key in [p for p in path.split(".") if p]:
        if not isinstance(node, dict) or key not in node:
            raise SourceError(f"response has no {path!r}", path=url)
        node = node[key]
    if not isinstance(node, list):
        raise SourceError(f"{path or 'response'} is not a list", path=url)
    return node


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _param_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value.isoformat() if hasattr(value, "isoformat") else value
