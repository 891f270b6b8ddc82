"""Semantic versions: parse, order numerically (1.10 after 1.9) and bump."""

from __future__ import annotations

import re
from functools import total_ordering

from dativo_ingest.changes.base import Severity
from dativo_ingest.errors import UsageError

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
#: The sort key of a version: numbers, "is a release", then the pre-release identifiers.
_Key = tuple[int, int, int, bool, tuple[tuple[int, int, str], ...]]


@total_ordering
class Version:
    """A MAJOR.MINOR.PATCH version; a pre-release (``2.0.0-rc.1``) sorts before its release."""

    __slots__ = ("major", "minor", "patch", "pre")

    def __init__(self, major: int, minor: int, patch: int = 0, pre: str | None = None) -> None:
        self.major, self.minor, self.patch, self.pre = major, minor, patch, pre

    @classmethod
    def parse(cls, text: str | Version) -> Version:
        if isinstance(text, Version):
            return text
        match = _SEMVER.match(str(text).strip())
        if not match:
            raise UsageError(f"'{text}' is not a semantic version (MAJOR.MINOR.PATCH)", field="version")
        major, minor, patch, pre = match.groups()
        return cls(int(major), int(minor), int(patch or 0), pre)

    @property
    def line(self) -> str:
        """The storage directory of this version's MAJOR.MINOR line: ``v1.10``."""
        return f"v{self.major}.{self.minor}"

    def _key(self) -> _Key:
        pre = (
            ()
            if self.pre is None
            else tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre.split("."))
        )
        return (self.major, self.minor, self.patch, self.pre is None, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")

    def __repr__(self) -> str:
        return f"Version('{self}')"

    def bump(self, severity: Severity) -> Version:
        """The smallest version after this one that a change of ``severity`` allows."""
        if severity is Severity.MAJOR:
            return Version(self.major + 1, 0, 0)
        if severity is Severity.MINOR:
            return Version(self.major, self.minor + 1, 0)
        if severity is Severity.PATCH:
            return Version(self.major, self.minor, self.patch + 1)
        return Version(self.major, self.minor, self.patch, self.pre)


def required_version(old: str | Version, severity: Severity) -> Version:
    """The smallest version the new contract must carry after ``old`` for a change of ``severity``."""
    return Version.parse(old).bump(severity)


def satisfies(new: str | Version, old: str | Version, severity: Severity) -> bool:
    """True when ``new`` is a large enough bump over ``old`` for changes of ``severity``.

    A MAJOR change needs a new MAJOR, a MINOR change a new MINOR or MAJOR, a PATCH change any later
    version; with no change the version may stay.
    """
    new_v, old_v = Version.parse(new), Version.parse(old)
    if severity is Severity.MAJOR:
        return new_v.major > old_v.major
    if severity is Severity.MINOR:
        return (new_v.major, new_v.minor) > (old_v.major, old_v.minor)
    if severity is Severity.PATCH:
        return new_v > old_v
    return new_v >= old_v


def sort_versions(versions: list[str]) -> list[str]:
    """Versions in numeric order (unparseable ones last, as text)."""

    def key(text: str) -> tuple[int, _Key | tuple[()], str]:
        try:
            return (0, Version.parse(text)._key(), text)
        except UsageError:
            return (1, (), text)

    return sorted(versions, key=key)
