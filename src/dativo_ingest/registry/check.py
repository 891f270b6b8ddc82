"""The CI gate: does each changed contract carry the version bump its changes need?

The baseline is either the registry (latest saved version of the same source type and object) or the
same file at a git revision (``git show REF:path``). A contract with no baseline is new and passes.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dativo_ingest.changes import Diff, UsageSource, classify
from dativo_ingest.errors import UsageError
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.registry.loading import load_contract
from dativo_ingest.registry.registry import ContractRegistry
from dativo_ingest.registry.semver import Version, required_version, satisfies
from dativo_ingest.yamlio import loads


@dataclass
class CheckResult:
    """The verdict on one contract file."""

    path: str
    baseline: str  # where the old version came from
    new_version: str
    old_version: str | None = None
    diff: Diff | None = None
    required_version: str | None = None
    ok: bool = True
    name: str = ""

    @property
    def message(self) -> str:
        if self.old_version is None:
            return f"new contract {self.new_version} (no baseline in {self.baseline})"
        kind = self.diff.change_type if self.diff else "none"
        count = len(self.diff.changes) if self.diff else 0
        verdict = "ok" if self.ok else f"needs version >= {self.required_version}"
        return f"{self.old_version} -> {self.new_version}: {count} change(s), {kind}; {verdict}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "contract": self.name,
            "ok": self.ok,
            "baseline": self.baseline,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "required_version": self.required_version,
            "change_type": self.diff.change_type if self.diff else "none",
            "message": self.message,
            "changes": [c.to_dict() for c in self.diff.changes] if self.diff else [],
        }


def check_file(
    path: str | Path, against: str, *, perspective: str = "spec", usage: UsageSource | None = None
) -> CheckResult:
    """Check one contract file against ``against``: a specs directory or ``git:REF``."""
    new = load_contract(path)
    old, label = load_baseline(path, new, against, perspective=perspective, usage=usage)
    return evaluate(str(path), new, old, label, perspective=perspective, usage=usage)


def load_baseline(
    path: str | Path,
    new: AssetDefinition,
    against: str,
    *,
    perspective: str = "spec",
    usage: UsageSource | None = None,
) -> tuple[AssetDefinition | None, str]:
    """The baseline version of the contract at ``path`` (None when it is new) and where it came from."""
    if against.startswith("git:"):
        ref = against[4:]
        if not ref:
            raise UsageError("--against git:REF needs a revision, e.g. git:origin/main")
        return _from_git(Path(path), ref), against
    if not Path(against).is_dir():
        raise UsageError("baseline specs directory not found", path=against, field="--against")
    return _from_registry(Path(path), new, Path(against), perspective, usage), str(against)


def load_removed(path: str | Path, against: str) -> tuple[AssetDefinition, str] | None:
    """The contract a path missing from the working tree held in the baseline (None when it held none).

    With ``git:REF`` that is the file at ``REF``; with a specs directory, the registered contract whose
    file ``path`` is (its saved snapshot: the file itself is gone)."""
    file = Path(path)
    if against.startswith("git:"):
        ref = against[4:]
        if not ref:
            raise UsageError("--against git:REF needs a revision, e.g. git:origin/main")
        folder = file.resolve().parent
        while not folder.is_dir() and folder != folder.parent:  # the file's folder may be gone too
            folder = folder.parent
        relative = file.resolve().relative_to(folder).as_posix()
        try:
            done = _git(folder, "show", f"{ref}:./{relative}")
        except OSError as exc:
            raise UsageError(f"cannot run git: {exc.strerror}") from None
        if done.returncode != 0:
            return None
        old = _parse_git(done.stdout, f"{ref}:{path}")
        return (old, against) if old is not None else None
    if not Path(against).is_dir():
        raise UsageError("baseline specs directory not found", path=against, field="--against")
    registry = ContractRegistry(Path(against))
    for source_type, object_name, _ in registry.contracts():
        layout = registry.layout(source_type, object_name)
        for entry in reversed(registry.versions(source_type, object_name)):
            snapshot = layout.snapshot(entry.version)
            placed = entry.path or layout.contract_file(entry.version)
            if snapshot.is_file() and _same_file(placed, file):
                return load_contract(snapshot), str(against)
    return None


def evaluate(
    path: str,
    new: AssetDefinition,
    old: AssetDefinition | None,
    baseline: str,
    *,
    perspective: str = "spec",
    usage: UsageSource | None = None,
) -> CheckResult:
    name = f"{new.source_type or '-'}/{new.object_name}"
    result = CheckResult(path, baseline, new.version, name=name)
    if old is None:
        return result
    diff = classify(old, new, perspective=perspective, usage=usage)
    result.old_version, result.diff = old.version, diff
    result.required_version = str(required_version(old.version, diff.severity))
    result.ok = satisfies(new.version, old.version, diff.severity)
    return result


def _from_registry(
    path: Path, new: AssetDefinition, specs: Path, perspective: str, usage: UsageSource | None
) -> AssetDefinition | None:
    if not new.source_type:
        return None
    registry = ContractRegistry(specs, usage=usage, perspective=perspective)
    layout = registry.layout(new.source_type, new.object_name)
    candidates = []
    for entry in registry.versions(layout.source_type, layout.object):
        snapshot = layout.snapshot(entry.version)
        source = snapshot if snapshot.is_file() else entry.path
        if source is not None and source.is_file() and not _same_file(source, path):
            candidates.append((Version.parse(entry.version), source))
    if not candidates:
        return None

    return load_contract(max(candidates, key=lambda c: c[0])[1])


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _from_git(path: Path, ref: str) -> AssetDefinition | None:
    """The contract at ``ref`` (None when the file did not exist there)."""
    folder = path.resolve().parent
    try:
        done = subprocess.run(["git", "show", f"{ref}:./{path.name}"], cwd=folder, capture_output=True,
                              text=True, check=False)  # fmt: skip
    except OSError as exc:
        raise UsageError(f"cannot run git: {exc.strerror}") from None
    if done.returncode != 0:
        error = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "git show failed"
        if "does not exist in" in error or "exists on disk, but not in" in error:
            renamed = _renamed_from(folder, path.name, ref)
            if renamed is None:
                return None
            return _from_git_root(folder, renamed, ref, path)
        raise UsageError(f"git show {ref}:{path}: {error}", path=path)
    return _parse_git(done.stdout, f"{ref}:{path}")


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=False)


def _renamed_from(folder: Path, name: str, ref: str) -> str | None:
    """The repository path at ``ref`` that git sees renamed (or moved) to ``folder/name``, if any."""
    prefix = _git(folder, "rev-parse", "--show-prefix")
    renames = _git(folder, "diff", "-z", "-M", "--name-status", "--diff-filter=R", ref, "--", ":/")
    if prefix.returncode != 0 or renames.returncode != 0:
        return None
    target = prefix.stdout.strip() + name
    fields = renames.stdout.split("\0")
    for at in range(0, len(fields) - 2, 3):  # R<score> NUL old NUL new NUL
        if fields[at].startswith("R") and fields[at + 2] == target:
            return fields[at + 1]
    return None


def _from_git_root(folder: Path, old_path: str, ref: str, path: Path) -> AssetDefinition | None:
    done = _git(folder, "show", f"{ref}:{old_path}")
    if done.returncode != 0:
        raise UsageError(f"git show {ref}:{old_path}: {done.stderr.strip() or 'git show failed'}", path=path)
    return _parse_git(done.stdout, f"{ref}:{old_path}")


def _parse_git(text: str, source: str) -> AssetDefinition | None:
    data = loads(text, source=source)
    if not isinstance(data, dict):
        return None
    return AssetDefinition.from_dict(data, source=source)
