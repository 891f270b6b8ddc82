"""``--profile`` proposes checks from a bounded sample, with evidence, as ``dativo.proposed`` custom
properties: printed, written, and never set on the field as facts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dativo_ingest.importers.profile import _is_card_number
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.quality import contract_checks
from tests.importers.helpers import field, run

CARDS = ["4111111111111111", "5500005555555559", "4012888888881881"]


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    rows = ["id,status,email,phone,card,score,note"]
    for i in range(50):
        note = "" if i % 2 else "x"
        rows.append(
            f"{i},{('new', 'paid')[i % 2]},user{i}@example.com,+49 30 1234{i:03d},{CARDS[i % 3]},"
            f"{i * 1.5},{note}"
        )
    path = tmp_path / "people.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_profile_writes_proposals_with_evidence(
    drop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "--from", "csv", str(drop), "--profile", "--out", str(out))
    assert code == 0, err
    doc = yaml.safe_load((out / "people.yaml").read_text())

    def proposed(name: str) -> dict[str, dict]:
        custom = {c["property"]: c["value"] for c in field(doc, name).get("customProperties", [])}
        return {p["check"]: p for p in custom.get("dativo.proposed", [])}

    assert proposed("id")["required"]["evidence"] == {"rows": 50, "nulls": 0, "null_share": 0.0}
    assert proposed("id")["unique"]["evidence"]["distinct"] == 50
    assert (
        proposed("id")["range"]["observed_minimum"] == 0 and proposed("id")["range"]["observed_maximum"] == 49
    )
    assert proposed("status")["accepted_values"]["values"] == ["new", "paid"]
    assert proposed("email")["classification"]["classification"] == "PII"
    assert proposed("email")["classification"]["looks_like"] == "email"
    assert proposed("phone")["classification"]["looks_like"] == "phone"
    assert proposed("card")["classification"] == {
        "check": "classification",
        "classification": "PCI",
        "looks_like": "card_number",
        "evidence": {
            "rows": 50,
            "nulls": 0,
            "null_share": 0.0,
            "distinct": 3,
            "matching": 50,
            "matching_share": 1.0,
        },
    }
    assert proposed("score")["range"]["observed_maximum"] == 73.5
    # proposals are not facts: no field became required, unique or classified
    asset = AssetDefinition.from_dict(doc)
    assert len(contract_checks(asset)) == 0
    assert not any(f.classification for f in asset.fields)
    assert "proposed status: accepted_values" in stdout
    assert "proposed card: classification" in stdout


def test_profile_reads_only_the_sample(drop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--from", "csv", str(drop), "--profile", "--sample-rows", "5", "--json")
    assert code == 0, err
    assert '"rows": 5' in out and '"rows": 50' not in out


def test_luhn_tells_card_numbers_from_other_digits() -> None:
    assert all(_is_card_number(c) for c in CARDS)
    assert _is_card_number("4111 1111 1111 1111")
    assert not _is_card_number("4111111111111112")
    assert not _is_card_number("12345")
