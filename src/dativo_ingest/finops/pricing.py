"""The pricing catalog: list prices with explicit units, per-tenant overrides, YAML in and out.

The packaged default is ``dativo_ingest/data/pricing/default.yaml``; a workspace may put its own
``pricing.yaml`` at its root. :meth:`PricingCatalog.rates_for` merges a tenant's overrides over the
list prices; the result (:class:`Rates`) is what the cost maths uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dativo_ingest import yamlio
from dativo_ingest.config_errors import config_error
from dativo_ingest.errors import ConfigError

#: The unit each rate must be expressed in.
UNITS: dict[str, str] = {
    "compute": "vCPU-hour",
    "memory": "GiB-hour",
    "storage": "GiB-month",
    "network": "GiB",
    "api": "1000 calls",
}

DEFAULT_CATALOG = "default.yaml"


class Price(BaseModel):
    """One price in USD per ``unit``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: str
    price: Decimal = Field(ge=0, allow_inf_nan=False)


class BillingIdentity(BaseModel):
    """Who bills whom, as FOCUS names it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = "dativo"
    invoice_issuer: str = "dativo"
    billing_account_id: str = "dativo-workspace"
    billing_account_name: str = "dativo workspace"
    service_name: str = "dativo ingestion"


class TenantPricing(BaseModel):
    """Overrides for one tenant; anything left out keeps the list price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rates: dict[Literal["compute", "memory", "storage", "network"], Price] = {}
    api: dict[str, Price] = {}
    storage_period_days: float | None = Field(default=None, gt=0)


class Rates(BaseModel):
    """Prices applied to one run (a tenant's view of the catalog)."""

    model_config = ConfigDict(frozen=True)

    catalog: str
    version: str
    currency: str
    days_per_month: float
    storage_period_days: float
    compute: Decimal
    memory: Decimal
    storage: Decimal
    network: Decimal
    api: dict[str, Decimal]

    def api_price(self, api_type: str) -> Decimal:
        """Price per 1,000 calls of ``api_type`` (the ``default`` price when it has none)."""
        return self.api.get(api_type, self.api["default"])


class PricingCatalog(BaseModel):
    """A versioned price list; see the packaged ``default.yaml`` for the documented format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog: str
    version: str
    currency: Literal["USD"] = "USD"
    days_per_month: float = Field(default=30, gt=0)
    storage_period_days: float = Field(default=30, gt=0)
    billing: BillingIdentity = BillingIdentity()
    rates: dict[Literal["compute", "memory", "storage", "network"], Price]
    api: dict[str, Price]
    tenants: dict[str, TenantPricing] = {}

    @field_validator("rates")
    @classmethod
    def _all_rates(cls, rates: dict[str, Price]) -> dict[str, Price]:
        missing = sorted(set(UNITS) - {"api"} - set(rates))
        if missing:
            raise ValueError(f"missing rates: {', '.join(missing)}")
        return rates

    @field_validator("api")
    @classmethod
    def _default_api(cls, api: dict[str, Price]) -> dict[str, Price]:
        if "default" not in api:
            raise ValueError("needs a 'default' price for untyped API calls")
        return api

    @model_validator(mode="after")
    def _units(self) -> PricingCatalog:
        _check_units("rates", self.rates)
        _check_units("api", self.api, UNITS["api"])
        for tenant, override in self.tenants.items():
            _check_units(f"tenants.{tenant}.rates", override.rates)
            _check_units(f"tenants.{tenant}.api", override.api, UNITS["api"])
        return self

    def rates_for(self, tenant_id: str | None = None) -> Rates:
        """List prices with ``tenant_id``'s overrides applied."""
        override = self.tenants.get(tenant_id or "", TenantPricing())
        merged = {**self.rates, **override.rates}
        api = {name: p.price for name, p in {**self.api, **override.api}.items()}
        return Rates(
            catalog=self.catalog,
            version=self.version,
            currency=self.currency,
            days_per_month=self.days_per_month,
            storage_period_days=override.storage_period_days or self.storage_period_days,
            compute=merged["compute"].price,
            memory=merged["memory"].price,
            storage=merged["storage"].price,
            network=merged["network"].price,
            api=dict(sorted(api.items())),
        )

    def list_rates(self) -> Rates:
        """The catalog's list prices (no tenant override)."""
        return self.rates_for(None)

    @classmethod
    def from_dict(cls, data: Any, *, source: str | Path | None = None) -> PricingCatalog:
        """Validate a catalog mapping; errors name ``source`` and the offending field."""
        if not isinstance(data, dict):
            raise ConfigError("pricing catalog must be a mapping", path=source)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise config_error(exc, path=source, what="pricing catalog") from None
        except ValueError as exc:
            raise ConfigError(f"invalid pricing catalog: {exc}", path=source) from exc

    @classmethod
    def from_yaml(cls, path: str | Path) -> PricingCatalog:
        """Load and validate a catalog file."""
        return cls.from_dict(yamlio.load_mapping(path), source=path)

    @classmethod
    def default(cls) -> PricingCatalog:
        """The packaged default catalog."""
        return _packaged_default()


_Key = TypeVar("_Key", bound=str)


def _check_units(where: str, prices: Mapping[_Key, Price], expected: str | None = None) -> None:
    for name, price in prices.items():
        want = expected or UNITS[name]
        if price.unit != want:
            raise ValueError(f"{where}.{name}.unit must be {want!r}, got {price.unit!r}")


_DEFAULT: list[PricingCatalog] = []


def _packaged_default() -> PricingCatalog:
    if not _DEFAULT:
        ref = resources.files("dativo_ingest") / "data" / "pricing" / DEFAULT_CATALOG
        data = yamlio.loads(ref.read_text(encoding="utf-8"), source=str(ref))
        _DEFAULT.append(PricingCatalog.from_dict(data, source=str(ref)))
    return _DEFAULT[0]


def resolve_catalog(pricing: Any = None, *, workspace_root: Path | None = None) -> PricingCatalog:
    """The catalog for ``pricing``: a catalog, a mapping, a YAML path, or ``None``.

    ``None`` means the workspace's ``pricing.yaml`` when ``workspace_root`` holds one, else the
    packaged default.
    """
    if isinstance(pricing, PricingCatalog):
        return pricing
    if isinstance(pricing, dict):
        return PricingCatalog.from_dict(pricing, source="pricing")
    if isinstance(pricing, str | Path):
        return PricingCatalog.from_yaml(pricing)
    if pricing is None:
        if workspace_root is not None and (workspace_root / "pricing.yaml").is_file():
            return PricingCatalog.from_yaml(workspace_root / "pricing.yaml")
        return _packaged_default()
    raise ConfigError(
        f"pricing must be a PricingCatalog, a mapping or a YAML path, got {type(pricing).__name__}"
    )
