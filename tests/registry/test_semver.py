"""Version parsing, numeric ordering and the bump each severity needs."""

from __future__ import annotations

import pytest

from dativo_ingest.changes import Severity
from dativo_ingest.errors import UsageError
from dativo_ingest.registry import Version, required_version, satisfies, sort_versions


def test_numeric_ordering() -> None:
    assert Version.parse("1.10.0") > Version.parse("1.9.0")
    assert Version.parse("2.0.0") > Version.parse("1.99.99")
    assert Version.parse("2.0.0-rc.1") < Version.parse("2.0.0")
    assert Version.parse("2.0.0-rc.2") < Version.parse("2.0.0-rc.10")
    assert sort_versions(["1.10.0", "1.2.0", "1.9.1", "10.0.0", "1.9.0"]) == [
        "1.2.0", "1.9.0", "1.9.1", "1.10.0", "10.0.0",
    ]  # fmt: skip


def test_line_directory() -> None:
    assert Version.parse("1.10.3").line == "v1.10"
    assert str(Version.parse("v2.1")) == "2.1.0"


@pytest.mark.parametrize(
    ("severity", "required"),
    [
        (Severity.MAJOR, "2.0.0"),
        (Severity.MINOR, "1.3.0"),
        (Severity.PATCH, "1.2.4"),
        (Severity.NONE, "1.2.3"),
    ],
)
def test_required_version(severity: Severity, required: str) -> None:
    assert str(required_version("1.2.3", severity)) == required


def test_satisfies() -> None:
    assert satisfies("2.0.0", "1.2.3", Severity.MAJOR)
    assert satisfies("2.0.0-rc.1", "1.2.3", Severity.MAJOR)
    assert not satisfies("1.9.0", "1.2.3", Severity.MAJOR)
    assert satisfies("1.3.0", "1.2.3", Severity.MINOR)
    assert satisfies("2.0.0", "1.2.3", Severity.MINOR)
    assert not satisfies("1.2.4", "1.2.3", Severity.MINOR)
    assert satisfies("1.2.4", "1.2.3", Severity.PATCH)
    assert not satisfies("1.2.3", "1.2.3", Severity.PATCH)
    assert satisfies("1.2.3", "1.2.3", Severity.NONE)


@pytest.mark.parametrize("bad", ["", "one", "1", "1.2.3.4", "01.2.3"])
def test_bad_versions(bad: str) -> None:
    with pytest.raises(UsageError, match="semantic version"):
        Version.parse(bad)
