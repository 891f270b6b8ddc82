"""Where contracts live: ``specs/<source_type>/vMAJOR.MINOR/<object>.yaml`` plus a hidden registry.

``specs/<source_type>/.registry/<object>/history.jsonl`` is the append-only history and
``.../versions/<version>.yaml`` an immutable snapshot of every saved version (the layout file holds the
latest patch of its MAJOR.MINOR line). Contracts placed by hand in the layout, without a history, are
found too. The registry keeps a ``.gitignore`` for its lock files, so ``specs/`` can be versioned as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dativo_ingest.fileio import atomic_write_text
from dativo_ingest.registry.path_segments import check_name
from dativo_ingest.registry.semver import Version

REGISTRY_DIR = ".registry"


@dataclass(frozen=True)
class Layout:
    """Paths of one contract (source type + object) under a specs directory."""

    specs: Path
    source_type: str
    object: str

    @classmethod
    def of(cls, specs: Path, source_type: str, object_name: str) -> Layout:
        return cls(specs, check_name(source_type, "source_type"), check_name(object_name, "object"))

    @property
    def source_dir(self) -> Path:
        return self.specs / self.source_type

    @property
    def registry_dir(self) -> Path:
        return self.source_dir / REGISTRY_DIR / self.object

    def ignore_lock_files(self) -> None:
        """Write ``.registry/.gitignore`` (``*.lock``) once, so lock files stay out of version control."""
        ignore = self.source_dir / REGISTRY_DIR / ".gitignore"
        if not ignore.is_file():
            atomic_write_text(ignore, "*.lock\n")

    @property
    def history(self) -> Path:
        return self.registry_dir / "history.jsonl"

    def snapshot(self, version: str | Version) -> Path:
        return self.registry_dir / "versions" / f"{Version.parse(version)}.yaml"

    def contract_file(self, version: str | Version) -> Path:
        return self.source_dir / Version.parse(version).line / f"{self.object}.yaml"

    def placed_files(self) -> list[tuple[Version, Path]]:
        """Contract files in the ``vMAJOR.MINOR`` directories, lowest line first."""
        found = []
        if not self.source_dir.is_dir():
            return []
        for line_dir in self.source_dir.iterdir():
            candidate = line_dir / f"{self.object}.yaml"
            if line_dir.name.startswith("v") and candidate.is_file():
                try:
                    found.append((Version.parse(line_dir.name), candidate))
                except ValueError:
                    continue
        return sorted(found, key=lambda item: item[0])


def source_dirs(specs: Path) -> list[Path]:
    """Source-type directories of a specs directory (hidden and badly named ones skipped), sorted."""
    if not specs.is_dir():
        return []
    result = []
    for child in sorted(specs.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            try:
                check_name(child.name, "source_type")
            except ValueError:
                continue
            result.append(child)
    return result


def objects_in(source_dir: Path) -> set[str]:
    """Object names with a history or a placed contract file under one source directory."""
    names: set[str] = set()
    registry = source_dir / REGISTRY_DIR
    if registry.is_dir():
        names.update(d.name for d in registry.iterdir() if (d / "history.jsonl").is_file())
    for line_dir in source_dir.iterdir():
        if line_dir.is_dir() and line_dir.name.startswith("v"):
            names.update(f.stem for f in line_dir.glob("*.yaml") if not f.name.startswith("."))
    return names
