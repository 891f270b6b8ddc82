"""``FinOpsMetrics``: one run's usage, accumulated, measured, priced, stored on ``finish()``."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dativo_ingest.finops.anomalies as _anomalies
from dativo_ingest.errors import UsageError
from dativo_ingest.finops.calculator import Charge, breakdown, price_usage
from dativo_ingest.finops.measure import ResourceMeter
from dativo_ingest.finops.pricing import PricingCatalog, resolve_catalog
from dativo_ingest.finops.records import build_summary, charge_rows, iso, run_row, summary_from_row
from dativo_ingest.finops.usage import Usage, check_amount, check_api_type
from dativo_ingest.logging import get_logger
from dativo_ingest.store import finops as history
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.workspace import Workspace

logger = get_logger("dativo_ingest.finops")

#: ``store=`` values: ``None``/``True`` = the current workspace's metadata store, ``False`` = keep
#: nothing, a ``MetadataStore`` or a database URL = that store.
StoreChoice = Any


def _optional_name(value: Any, what: str) -> str | None:
    return None if value is None else _name(value, what)


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise UsageError(f"must be a non-empty string of at most 255 characters, got {value!r}", field=what)
    return value.strip()


def resolve_store(store: StoreChoice, *, reading: bool = False) -> Any:
    """The ``MetadataStore`` for a ``store=`` choice (``None`` when storing is switched off).

    When ``reading`` from the default store of a workspace whose SQLite file does not exist yet,
    ``None`` too: there is no history, and a read must not create the database.
    """
    if store is False:
        return None
    if store is None or store is True:
        url = Workspace.current().database_url
        if reading and url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
            return None
        return MetadataStore(url)
    if isinstance(store, MetadataStore):
        return store
    if isinstance(store, str):
        return MetadataStore(store)
    raise UsageError(
        f"must be a MetadataStore, a database URL, True/None or False, got {store!r}", field="store"
    )


class FinOpsMetrics:
    """Usage and cost of one run of ``job_name`` for ``tenant_id``.

    Recordings accumulate (CPU time, bytes, API calls) or keep the peak (memory). Nothing is written
    until :meth:`finish`, which stores the run in the metadata store chosen by ``store``: by default
    (``None``) the current workspace's store (``DATIVO_DATABASE_URL`` or ``.dativo/dativo.db``), so
    every finished run becomes history for reports and anomaly detection; ``store=False`` keeps
    nothing. ``pricing`` is a :class:`PricingCatalog`, a catalog mapping, a YAML path, or ``None`` for
    the workspace's ``pricing.yaml`` (else the packaged default). ``storage_days`` is how long written
    data is charged for (for example the contract's retention); default: the catalog's period.
    """

    def __init__(
        self,
        tenant_id: str,
        job_name: str,
        cost_center: str | None = None,
        pricing: PricingCatalog | dict | str | None = None,
        *,
        store: StoreChoice = None,
        storage_days: float | None = None,
        run_id: str | None = None,
    ) -> None:
        self.tenant_id = _name(tenant_id, "tenant_id")
        self.job_name = _name(job_name, "job_name")
        self.cost_center = _optional_name(cost_center, "cost_center")
        self.pricing = resolve_catalog(pricing, workspace_root=Workspace.current().root)
        self.rates = self.pricing.rates_for(self.tenant_id)
        self.storage_days = (
            check_amount(storage_days, "storage_days")
            if storage_days is not None
            else self.rates.storage_period_days
        )
        self.run_id = _name(run_id, "run_id") if run_id is not None else uuid.uuid4().hex
        self.store = store
        self.usage = Usage()
        self.start_time: datetime | None = None
        self.end_time: datetime | None = None
        self.summary: dict[str, Any] | None = None
        self._finished_charges: list[Charge] = []
        self._started_clock: float | None = None
        self._lock = threading.RLock()
        self._meter: ResourceMeter | None = None
        self._measuring = False
        self._measured = False

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, measure: bool = False) -> FinOpsMetrics:
        """Begin the run's clock; with ``measure=True`` also measure this process until :meth:`finish`."""
        with self._lock:
            if self.start_time is not None:
                raise UsageError(f"run {self.run_id} was already started", field="start")
            self.start_time = datetime.now(UTC)
            self._started_clock = time.perf_counter()
            if measure:
                self._meter = ResourceMeter().start()
                self._measuring = True
        logger.debug("finops run started", extra={"fields": self._identity()})
        return self

    @contextmanager
    def measure(
        self, *, include_children: bool = True, sample_interval: float = 0.05
    ) -> Iterator[ResourceMeter]:
        """Measure the enclosed block: its process CPU time (user + system) and peak RSS are recorded.

        Starts the run if needed. The yielded meter's ``result`` holds the :class:`Measurement`
        after the block. Windows must not overlap (process CPU would be counted twice).
        """
        with self._lock:
            self._check_open()
            if self._measuring:
                raise UsageError("a measurement of this run is already in progress", field="measure")
            if self.start_time is None:
                self.start()
            self._measuring = True
        meter = ResourceMeter(include_children=include_children, sample_interval=sample_interval).start()
        try:
            yield meter
        finally:
            result = meter.stop()
            with self._lock:
                self._measuring = False
                self._measured = True
                self._add_cpu(result.cpu_time_sec)
                self._add_memory(result.peak_rss_mb)

    def finish(self) -> dict[str, Any]:
        """End the run, price it, store it (unless ``store=False``) and return the summary.

        Calling it again returns the same summary without storing twice.
        """
        with self._lock:
            if self.summary is not None:
                return self.summary
            if self.start_time is None or self._started_clock is None:
                raise UsageError("finish() called before start()", field="finish")
            if self._meter is not None:
                result = self._meter.stop()
                self._measuring, self._measured = False, True
                self._add_cpu(result.cpu_time_sec)
                self._add_memory(result.peak_rss_mb)
            elif self._measuring:
                raise UsageError("finish() called inside a measure() block", field="finish")
            self.usage.wall_time_sec = time.perf_counter() - self._started_clock
            self.end_time = self.start_time + timedelta(seconds=self.usage.wall_time_sec)
            charges = self._charges()
            costs = breakdown(charges)
            self._finished_charges = charges
            self.summary = self._summary(costs)
        store = resolve_store(self.store)
        if store is not None:
            history.insert_run(
                store, run_row(self.summary, costs, self.start_time, self.end_time), charge_rows(charges)
            )
        logger.info(
            "finops run finished",
            extra={
                "fields": {
                    **self._identity(),
                    "total_cost_usd": self.summary["cost_breakdown_usd"]["total"],
                    "stored": store is not None,
                }
            },
        )
        return self.summary

    # -- recording -------------------------------------------------------------------------------

    def record_cpu_time(self, seconds: float) -> None:
        """Add ``seconds`` of CPU time."""
        value = check_amount(seconds, "cpu_time_sec")
        with self._lock:
            self._check_open()
            self._add_cpu(value)

    def record_memory_usage(self, mb: float) -> None:
        """Record a memory reading in MB; the run keeps the peak."""
        value = check_amount(mb, "memory_mb")
        with self._lock:
            self._check_open()
            self._add_memory(value)

    def record_data_ingested(self, num_bytes: int) -> None:
        """Add bytes read from the source (priced as network transfer)."""
        value = check_amount(num_bytes, "data_bytes_ingested", whole=True)
        with self._lock:
            self._check_open()
            self.usage.data_bytes_ingested += int(value)

    def record_data_written(self, num_bytes: int) -> None:
        """Add bytes written to the target (priced as storage)."""
        value = check_amount(num_bytes, "data_bytes_written", whole=True)
        with self._lock:
            self._check_open()
            self.usage.data_bytes_written += int(value)

    def record_api_calls(self, count: int, api_type: str | None = None) -> None:
        """Add ``count`` API calls of ``api_type`` (priced per 1,000 calls of that type)."""
        value = int(check_amount(count, "api_calls", whole=True))
        bucket = check_api_type(api_type)
        with self._lock:
            self._check_open()
            self.usage.api_calls[bucket] = self.usage.api_calls.get(bucket, 0) + value

    def _add_cpu(self, seconds: float) -> None:
        self.usage.cpu_time_sec += seconds

    def _add_memory(self, mb: float) -> None:
        self.usage.memory_peak_mb = max(self.usage.memory_peak_mb, mb)

    def _check_open(self) -> None:
        if self.summary is not None:
            raise UsageError(f"run {self.run_id} is finished; record usage before finish()", field="finish")

    # -- reading ---------------------------------------------------------------------------------

    @property
    def cpu_time_sec(self) -> float:
        return self.usage.cpu_time_sec

    @property
    def memory_peak_mb(self) -> float:
        return self.usage.memory_peak_mb

    @property
    def data_bytes_ingested(self) -> int:
        return self.usage.data_bytes_ingested

    @property
    def data_bytes_written(self) -> int:
        return self.usage.data_bytes_written

    @property
    def api_calls_count(self) -> int:
        return self.usage.api_calls_count

    def _live_costs(self) -> dict[str, Decimal]:
        return breakdown(self._charges())

    @property
    def compute_cost_usd(self) -> float:
        return float(self._live_costs()["compute"])

    @property
    def storage_cost_usd(self) -> float:
        return float(self._live_costs()["storage"])

    @property
    def network_cost_usd(self) -> float:
        return float(self._live_costs()["network"])

    @property
    def api_cost_usd(self) -> float:
        return float(self._live_costs()["api"])

    def _charges(self) -> list[Charge]:
        if self.summary is not None:
            return self._finished_charges
        usage = self.usage
        if self._started_clock is not None:
            usage = Usage(
                **{
                    **usage.__dict__,
                    "api_calls": dict(usage.api_calls),
                    "wall_time_sec": time.perf_counter() - self._started_clock,
                }
            )
        return price_usage(usage, self.rates, self.pricing.list_rates(), storage_days=self.storage_days)

    def _summary(self, costs: dict[str, Decimal]) -> dict[str, Any]:
        start = self.start_time or datetime.now(UTC)
        return build_summary(
            run_id=self.run_id,
            tenant_id=self.tenant_id,
            job_name=self.job_name,
            cost_center=self.cost_center,
            started_at=start,
            finished_at=self.end_time or start,
            usage=self.usage,
            measured=self._measured,
            breakdown=costs,
            rates=self.rates,
            storage_days=self.storage_days,
        )

    def current_summary(self) -> dict[str, Any]:
        """The summary so far (the final one after :meth:`finish`)."""
        with self._lock:
            if self.summary is not None:
                return self.summary
            charges = self._charges()
            snapshot = self._summary(breakdown(charges))
            if self._started_clock is not None:
                snapshot["execution_time_seconds"] = time.perf_counter() - self._started_clock
            return snapshot

    def _identity(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "job_name": self.job_name,
            "cost_center": self.cost_center,
            "run_id": self.run_id,
        }

    # -- analysis and export ---------------------------------------------------------------------

    def detect_anomalies(self, historical: Sequence[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Unusual cost or usage of this run against ``historical`` run summaries.

        With ``None`` the stored history of the same tenant and job (before this run) is used; with
        ``store=False`` there is none, so nothing is flagged.
        """
        if historical is None:
            historical = self._stored_history()
        elif not isinstance(historical, list | tuple) or not all(isinstance(h, dict) for h in historical):
            raise UsageError("must be a list of run summaries (dicts)", field="historical")
        found = _anomalies.detect(self.current_summary(), historical)
        if found:
            logger.warning(
                "finops anomalies detected",
                extra={"fields": {**self._identity(), "anomalies": [a["type"] for a in found]}},
            )
        return found

    def _stored_history(self) -> list[dict[str, Any]]:
        store = resolve_store(self.store, reading=True)
        if store is None:
            return []

        before = self.start_time or datetime.now(UTC)
        rows = history.select_runs(
            store,
            tenant_id=self.tenant_id,
            job_name=self.job_name,
            since=before - timedelta(days=_anomalies.WINDOW_DAYS),
            until=before,
            exclude_run_id=self.run_id,
            limit=_anomalies.WINDOW_RUNS,
            newest_first=True,
        )
        return [summary_from_row(r) for r in reversed(rows)]

    def export_for_billing(self) -> dict[str, Any]:
        """``{line_items: [...], summary: {...}}``: one priced line per charge of this run."""
        with self._lock:
            charges = self._charges()
            costs = breakdown(charges)
            finished = self.summary is not None
        start = iso(self.start_time) if self.start_time else None
        end = iso(self.end_time) if self.end_time else None
        items = [
            {
                "tenant_id": self.tenant_id,
                "job_name": self.job_name,
                "cost_center": self.cost_center,
                "run_id": self.run_id,
                "resource_type": c.category,
                "charge": c.key,
                "description": c.description,
                "quantity": float(c.quantity),
                "unit": c.unit,
                "unit_price": float(c.unit_price),
                "list_unit_price": float(c.list_unit_price),
                "total_cost": float(c.cost),
                "currency": self.rates.currency,
                "charge_period_start": start,
                "charge_period_end": end,
            }
            for c in charges
        ]
        return {
            "line_items": items,
            "summary": {
                "tenant_id": self.tenant_id,
                "job_name": self.job_name,
                "cost_center": self.cost_center,
                "run_id": self.run_id,
                "status": "finished" if finished else "running",
                "total_cost_usd": float(costs["total"]),
                "cost_breakdown_usd": {k: float(v) for k, v in costs.items()},
                "currency": self.rates.currency,
                "pricing": {"catalog": self.rates.catalog, "version": self.rates.version},
                "timestamp": iso(datetime.now(UTC)),
            },
        }
