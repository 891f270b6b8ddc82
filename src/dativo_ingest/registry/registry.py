"""The contract registry: versioned contract files with a history, guarded by the change rules.

Saving takes an inter-process lock per contract, compares the new version with the latest saved one
(:func:`dativo_ingest.changes.classify`), refuses a version bump smaller than the changes need, then writes
the snapshot and the layout file atomically and appends the history entry last: a crash at any point
leaves the registry at its previous version, loadable.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from dativo_ingest.changes import Diff, Severity, UsageSource, classify
from dativo_ingest.errors import BreakingChangeError, ContractNotFoundError, ContractValidationError
from dativo_ingest.fileio import atomic_write_text, locked
from dativo_ingest.notifications import dispatch, events
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.odcs.validation import validate_asset
from dativo_ingest.registry.history import ContractVersion, append_entry, read_history
from dativo_ingest.registry.layout import Layout, objects_in, source_dirs
from dativo_ingest.registry.semver import Version, required_version, satisfies
from dativo_ingest.workspace import Workspace
from dativo_ingest.yamlio import load_mapping

#: Changes listed in a BreakingChangeError message (all are on the exception's ``changes``).
SHOWN_CHANGES = 5


def content_of(asset: AssetDefinition) -> tuple[str, str]:
    """The YAML text stored for ``asset`` and its sha256."""
    text = asset.to_yaml()
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


class ContractRegistry:
    """Contracts under one ``specs`` directory. Constructing it touches no file."""

    def __init__(
        self, specs_dir: str | Path, *, usage: UsageSource | None = None, perspective: str = "spec"
    ) -> None:
        self.specs = Path(specs_dir)
        self.usage = usage
        self.perspective = perspective

    def layout(self, source_type: str, object_name: str) -> Layout:
        return Layout.of(self.specs, source_type, object_name)

    # ----- reading --------------------------------------------------------------------------------
    def versions(self, source_type: str, object_name: str) -> list[ContractVersion]:
        """Saved versions, oldest first (placed contracts without a history appear with no author)."""
        layout = self.layout(source_type, object_name)
        entries = read_history(layout.history)
        if entries:
            return [ContractVersion.from_dict(e, layout.contract_file(e["version"])) for e in entries]
        return [self._placed_version(layout, file) for _, file in layout.placed_files()]

    def _placed_version(self, layout: Layout, file: Path) -> ContractVersion:
        data = load_mapping(file)
        return ContractVersion(
            layout.source_type, layout.object, str(data.get("version", "0.0.0")), "unknown", path=file
        )

    def latest(self, source_type: str, object_name: str) -> ContractVersion | None:
        """The highest saved version (the newest entry wins a tie)."""
        found = self.versions(source_type, object_name)
        if not found:
            return None
        return max(reversed(found), key=lambda v: Version.parse(v.version))

    def find(self, source_type: str, object_name: str, version: str | None = None) -> ContractVersion:
        """The entry for ``version`` (latest when None); ContractNotFoundError when absent."""
        if version is None:
            found = self.latest(source_type, object_name)
        else:
            wanted = Version.parse(version)
            found = next(
                (
                    v
                    for v in reversed(self.versions(source_type, object_name))
                    if Version.parse(v.version) == wanted
                ),
                None,
            )
        if found is None:
            what = f"{source_type}/{object_name}" + (f" version {version}" if version else "")
            raise ContractNotFoundError(
                f"no contract {what} under {self.specs}", field="version" if version else None
            )
        return found

    def load(self, source_type: str, object_name: str, version: str | None = None) -> AssetDefinition:
        """The contract (``AssetDefinition``) of ``version``, latest by default."""
        entry = self.find(source_type, object_name, version)
        layout = self.layout(source_type, object_name)
        snapshot = layout.snapshot(entry.version)
        # registry entries always carry their file; a bare entry means its version's default place
        file = entry.path or layout.contract_file(entry.version)
        return AssetDefinition.from_yaml(snapshot if snapshot.is_file() else file)

    def contracts(self) -> list[tuple[str, str, str]]:
        """``(source_type, object, latest_version)`` of every contract, sorted."""
        result = []
        for source_dir in source_dirs(self.specs):
            for name in sorted(objects_in(source_dir)):
                try:
                    latest = self.latest(source_dir.name, name)
                except ValueError:
                    continue  # badly named file in the layout: not a contract of ours
                if latest is not None:
                    result.append((source_dir.name, name, latest.version))
        return result

    # ----- comparing ------------------------------------------------------------------------------
    def diff(self, old: AssetDefinition, new: AssetDefinition) -> Diff:
        return classify(old, new, perspective=self.perspective, usage=self.usage)

    # ----- saving ---------------------------------------------------------------------------------
    def save(
        self, asset: AssetDefinition, author: str = "system", force: bool = False, validate: bool = True
    ) -> ContractVersion:
        """Save ``asset`` as a new version (see ``ContractManager.save_contract``)."""
        layout, version, text, digest = self._prepare(asset, validate)
        layout.ignore_lock_files()
        with locked(layout.history):
            latest = self.latest(layout.source_type, layout.object)
            same = self._entry_of(layout, version)
            if same is not None and self._digest(layout, same) == digest:
                same.unchanged = True  # identical content: nothing to do
                return same
            entry = self._decide(asset, layout, latest, digest, force)
            if same is not None:
                raise _version_taken(layout, entry)
            entry.author, entry.timestamp = author, datetime.now(UTC).isoformat(timespec="milliseconds")
            atomic_write_text(layout.snapshot(version), text)
            atomic_write_text(layout.contract_file(version), text)
            append_entry(layout.history, {k: v for k, v in entry.to_dict().items() if k != "path"})
        if entry.forced:
            self._notify_forced(asset, entry)
        return entry

    def check(self, asset: AssetDefinition) -> ContractVersion:
        """The entry :meth:`save` (without force) would record, or the error it would raise; writes
        nothing (a dry run's view of the registry)."""
        layout, version, _, digest = self._prepare(asset, validate=True)
        same = self._entry_of(layout, version)
        if same is not None and self._digest(layout, same) == digest:
            same.unchanged = True
            return same
        entry = self._decide(asset, layout, self.latest(layout.source_type, layout.object), digest, False)
        if same is not None:
            raise _version_taken(layout, entry)
        return entry

    def _prepare(self, asset: AssetDefinition, validate: bool) -> tuple[Layout, Version, str, str]:
        """What saving needs, checked: the layout, the version, the content and its hash."""
        if not asset.source_type:
            raise ContractValidationError(
                "a contract needs a source_type to be saved in the registry", field="source_type"
            )
        asset.require_fields("saving in the registry")
        layout = self.layout(asset.source_type, asset.object_name)
        version = Version.parse(asset.version)
        if validate:
            _require_valid(asset)
        text, digest = content_of(asset)
        return layout, version, text, digest

    def _notify_forced(self, asset: AssetDefinition, entry: ContractVersion) -> None:
        """A forced save is announced (``breaking_change_forced``) to the workspace's channels; the
        delivery runs in the background and never fails the save."""
        event = events.breaking_change_forced(
            asset,
            version=entry.version,
            previous_version=entry.previous_version,
            required_version=entry.required_version,
            change_type=entry.change_type,
            changes=entry.changes,
            author=entry.author or "unknown",
        )
        dispatch(event, workspace=Workspace(self.specs.resolve().parent))

    def _entry_of(self, layout: Layout, version: Version) -> ContractVersion | None:
        """The saved entry of ``version`` (the newest one if an old history holds several)."""
        entries = reversed(self.versions(layout.source_type, layout.object))
        return next((e for e in entries if Version.parse(e.version) == version), None)

    def _digest(self, layout: Layout, entry: ContractVersion) -> str:
        """The content hash of a saved entry (computed for contracts placed without a history)."""
        return entry.hash or content_of(self.load(layout.source_type, layout.object, entry.version))[1]

    def _decide(
        self, asset: AssetDefinition, layout: Layout, latest: ContractVersion | None, digest: str, force: bool
    ) -> ContractVersion:
        """The history entry for saving ``asset`` over ``latest`` (raises if the bump is short)."""
        entry = ContractVersion(
            layout.source_type,
            layout.object,
            str(Version.parse(asset.version)),
            "initial",
            hash=digest,
            path=layout.contract_file(asset.version),
        )
        if latest is None:
            return entry
        diff = self.diff(self.load(layout.source_type, layout.object, latest.version), asset)
        severity = max(diff.severity, Severity.PATCH)  # the content differs, so at least a PATCH
        entry.change_type = diff.change_type if diff.changes else "metadata"
        entry.changes, entry.previous_version = diff.changes, latest.version
        entry.required_version = str(required_version(latest.version, severity))
        if satisfies(asset.version, latest.version, severity):
            return entry
        if force:
            entry.forced = True
            return entry
        raise _short_bump(layout, asset.version, latest.version, severity, diff)


def _version_taken(layout: Layout, entry: ContractVersion) -> BreakingChangeError:
    """Saved versions are immutable: ``force`` skips the bump rule, it never rewrites history."""
    return BreakingChangeError(
        f"{layout.source_type}/{layout.object} {entry.version} is already saved with other content and "
        f"saved versions are immutable, even with force: save it as {entry.required_version}",
        changes=entry.changes,
        required_version=entry.required_version,
        field="version",
    )


def _short_bump(layout: Layout, new: str, old: str, severity: Severity, diff: Diff) -> BreakingChangeError:
    required = required_version(old, severity)
    relevant = [c for c in diff.changes if c.severity == severity] or diff.changes
    listed = "; ".join(str(c) for c in relevant[:SHOWN_CHANGES])
    more = f" (and {len(relevant) - SHOWN_CHANGES} more)" if len(relevant) > SHOWN_CHANGES else ""
    if not diff.changes:
        listed = "content changed"
    kind = diff.change_type if diff.changes else "metadata"
    return BreakingChangeError(
        f"{layout.source_type}/{layout.object} {new}: {kind} change "
        f"over {old} needs version >= {required} ({severity.label} bump): {listed}{more}; "
        "bump the version or save with force",
        changes=diff.changes,
        required_version=str(required),
        field="version",
    )


def _require_valid(asset: AssetDefinition) -> None:
    valid, errors = validate_asset(asset).as_tuple()
    if not valid:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ContractValidationError(f"contract is invalid: {errors[0]}{more}", errors=errors)
