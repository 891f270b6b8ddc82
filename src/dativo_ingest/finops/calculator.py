"""Cost maths (pure): usage x rates -> charges -> the spec's breakdown and per-metric costs.

Quantities are exact decimals rounded to 12 places; each charge's cost is rounded once to a
nano-dollar (1e-9 USD), and every total is the sum of those rounded charges, so totals reconcile to
the last digit wherever they are summed again (history, reports, FOCUS).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from dativo_ingest.finops.pricing import UNITS, Rates
from dativo_ingest.finops.usage import Usage

GIB = Decimal(1024**3)
QUANTITY_STEP = Decimal("1e-12")
COST_STEP = Decimal("1e-9")
CATEGORIES = ("compute", "storage", "network", "api")


@dataclass(frozen=True)
class Charge:
    """One priced line of a run: ``quantity`` (in ``unit``) x ``unit_price`` = ``cost`` (USD)."""

    key: str
    category: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    list_unit_price: Decimal
    cost: Decimal
    list_cost: Decimal
    description: str


def quantity(value: Decimal) -> Decimal:
    return value.quantize(QUANTITY_STEP, rounding=ROUND_HALF_EVEN)


def money(value: Decimal) -> Decimal:
    return value.quantize(COST_STEP, rounding=ROUND_HALF_EVEN)


def to_nano(value: Decimal) -> int:
    """USD as integer nano-dollars (how the history stores money)."""
    return int(money(value).scaleb(9))


def from_nano(value: int) -> Decimal:
    return money(Decimal(int(value)).scaleb(-9))


def _dec(value: float | int) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def usage_quantities(
    usage: Usage, *, storage_days: float, days_per_month: float
) -> dict[str, tuple[str, str, Decimal, str]]:
    """Priced quantities of ``usage``: key -> (category, rate name, quantity in its unit, description)."""
    cpu_hours = _dec(usage.cpu_time_sec) / 3600
    gib_hours = _dec(usage.memory_peak_mb) / 1024 * _dec(usage.wall_time_sec) / 3600
    gib_months = Decimal(usage.data_bytes_written) / GIB * _dec(storage_days) / _dec(days_per_month)
    ingested_gib = Decimal(usage.data_bytes_ingested) / GIB
    items = {
        "compute.cpu": ("compute", "compute", cpu_hours, "CPU time (user + system)"),
        "compute.memory": ("compute", "memory", gib_hours, "peak memory held for the run's duration"),
        "storage": ("storage", "storage", gib_months, f"data written, stored {storage_days:g} days"),
        "network": ("network", "network", ingested_gib, "data ingested from the source"),
    }
    for api_type, calls in sorted(usage.api_calls.items()):
        items[f"api.{api_type}"] = ("api", "api", Decimal(calls) / 1000, f"{api_type} API calls")
    return items


def price_usage(
    usage: Usage, rates: Rates, list_rates: Rates | None = None, *, storage_days: float | None = None
) -> list[Charge]:
    """Charges of ``usage`` at ``rates`` (``list_rates`` give the list price; default ``rates``).

    Storage is charged for ``storage_days`` (default: the rates' storage period) as a fraction of
    a month. Lines with zero quantity are left out.
    """
    list_rates = list_rates or rates
    days = storage_days if storage_days is not None else rates.storage_period_days
    items = usage_quantities(usage, storage_days=days, days_per_month=rates.days_per_month)
    charges: list[Charge] = []
    for key, (category, rate, raw, description) in items.items():
        qty = quantity(raw)
        if qty == 0:
            continue
        price, list_price = _price(key, rate, rates), _price(key, rate, list_rates)
        charges.append(
            Charge(
                key=key,
                category=category,
                quantity=qty,
                unit=UNITS[rate],
                unit_price=price,
                list_unit_price=list_price,
                cost=money(qty * price),
                list_cost=money(qty * list_price),
                description=description,
            )
        )
    return charges


def _price(key: str, rate: str, rates: Rates) -> Decimal:
    return rates.api_price(key.split(".", 1)[1]) if rate == "api" else getattr(rates, rate)


def breakdown(charges: list[Charge]) -> dict[str, Decimal]:
    """The spec's ``cost_breakdown_usd``: compute, storage, network, api and their exact sum."""
    result = dict.fromkeys(CATEGORIES, Decimal(0))
    for charge in charges:
        result[charge.category] += charge.cost
    result = {k: money(v) for k, v in result.items()}
    result["total"] = money(sum(result.values(), Decimal(0)))
    return result


def cost_per_metric(total: Decimal, usage: Usage) -> dict[str, Decimal | None]:
    """Total cost per GiB ingested and per API call; ``None`` when nothing was ingested or called."""
    gib = Decimal(usage.data_bytes_ingested) / GIB
    calls = usage.api_calls_count
    return {
        "cost_per_gb_ingested": money(total / gib) if gib > 0 else None,
        "cost_per_api_call": money(total / calls) if calls > 0 else None,
    }
