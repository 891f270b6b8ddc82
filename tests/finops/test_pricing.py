"""Pricing catalog: the packaged default, explicit units, tenant overrides, workspace file, bad files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from dativo_ingest.errors import ConfigError
from dativo_ingest.finops import FinOpsMetrics
from dativo_ingest.finops.pricing import UNITS, PricingCatalog


def _default_dict() -> dict:
    return PricingCatalog.default().model_dump(mode="json")


def test_default_catalog_names_every_unit() -> None:
    catalog = PricingCatalog.default()
    assert {name: price.unit for name, price in catalog.rates.items()} == {
        k: v for k, v in UNITS.items() if k != "api"
    }
    assert catalog.api["default"].unit == "1000 calls"
    assert catalog.list_rates().compute == Decimal("0.05")


def test_wrong_unit_is_refused_with_file_and_field(tmp_path: Path) -> None:
    data = _default_dict()
    data["rates"]["compute"] = {"unit": "vCPU-second", "price": 0.00001}
    path = tmp_path / "pricing.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        PricingCatalog.from_yaml(path)
    assert str(path) in str(info.value) and "rates.compute.unit must be 'vCPU-hour'" in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rates"]["network"].update(price=-0.1), "greater than or equal to 0"),
        (lambda d: d["rates"]["storage"].update(price="cheap"), "rates.storage.price"),
        (lambda d: d["api"].pop("default"), "'default' price"),
        (lambda d: d["rates"].pop("memory"), "missing rates: memory"),
        (lambda d: d.update(currency="EUR"), "currency"),
        (
            lambda d: d.update(tenants={"acme": {"rates": {"compute": {"unit": "hour", "price": 1}}}}),
            "tenants.acme.rates.compute.unit",
        ),
    ],
)
def test_bad_catalogs_are_refused(change, message: str) -> None:
    data = _default_dict()
    change(data)
    with pytest.raises(ConfigError, match=message):
        PricingCatalog.from_dict(data)


def test_workspace_pricing_file_is_used(workspace: Path) -> None:
    data = _default_dict()
    data["catalog"] = "workspace-prices"
    data["rates"]["compute"]["price"] = 1.0
    (workspace / "pricing.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    m = FinOpsMetrics("acme", "job", store=False).start()
    m.record_cpu_time(3600)
    summary = m.finish()
    assert summary["pricing"]["catalog"] == "workspace-prices"
    assert summary["cost_breakdown_usd"]["compute"] == pytest.approx(1.0, abs=1e-6)


def test_malformed_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("rates: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"prices\.yaml"):
        FinOpsMetrics("acme", "job", pricing=str(path), store=False)
