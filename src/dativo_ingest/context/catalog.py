"""The contract catalog the AI context API reads: the registry for contracts, the search index for discovery.

The index is synchronised from the registry lazily: on first use, then whenever a cheap fingerprint of
the registry's directories (checked at most every ``refresh_seconds``) changes; only contracts whose
latest version changed are reloaded. Loaded versions are cached in memory (a registered version never
changes) and "latest" means the version the index knows, so a save shows up within ``refresh_seconds``
(call :meth:`Catalog.sync` to see it at once). The latest version of every indexed contract is kept in
memory too, replaced as a whole by each sync, so a request does not ask the index for it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Any

from sqlglot import exp

from dativo_ingest.dbt.node_names import default_model_name
from dativo_ingest.errors import ContractNotFoundError, StoreError
from dativo_ingest.logging import get_logger
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.policy.views import ContextViews
from dativo_ingest.registry.manager import ContractManager
from dativo_ingest.store import search
from dativo_ingest.workspace import Workspace

logger = get_logger(__name__)
CACHE_SIZE = 2048  # parsed contracts (about 16 KB each)
VIEW_CACHE_SIZE = 20_000  # policy views of contract versions (a few KB each, per visibility class)
LOAD_CHUNK = 500
OPTIMIZE_AFTER = 100  # contracts (re)indexed or removed by one sync before the index is merged


def default_registry() -> Any:
    """The current workspace's contract registry."""
    return ContractManager(specs_dir=Workspace.current().specs)


class Catalog:
    """Contracts by (source, object, version), a synchronised search index, and SQL table resolution."""

    def __init__(self, registry: Any, store: Any, refresh_seconds: float = 1.0) -> None:
        self.registry = registry
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._cache: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._synced_at: float | None = None
        self._checked_at = 0.0
        self._fingerprint_seen: tuple | None = None
        self._recheck = False
        # (source, object) -> latest version, as the index holds it after this process's last sync
        self._latest: dict[tuple[str, str], str] = {}
        self._views: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self.generation = 0  # bumped whenever a sync changes the index (browsing caches key on it)

    # ----- contracts ------------------------------------------------------------------------------
    def get(self, source_type: str, object_name: str, version: str | None = None) -> AssetDefinition:
        """The contract (latest when ``version`` is None); :class:`ContractNotFoundError` when unknown.

        The latest version is the one the index knows (at most ``refresh_seconds`` old); contracts the
        index does not know yet are asked of the registry.
        """
        if version is None:
            version = self.latest(source_type, object_name)
        if version is not None:
            key = (source_type, object_name, str(version))
            with self._lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
        asset = self.registry.get_contract(source_type, object_name, version)
        if asset is None:
            what = f"{source_type}/{object_name}" + (f" version {version}" if version else "")
            raise ContractNotFoundError(f"no contract {what}", field="object")
        with self._lock:
            self._cache[(source_type, object_name, str(version or asset.version))] = asset
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return asset

    def latest(self, source_type: str, object_name: str) -> str | None:
        """The latest version the index knows (None when it knows none): from memory, as of the last
        sync; a contract the last sync did not see is looked up in the index itself."""
        self.ensure_index()
        version = self._latest.get((source_type, object_name))
        if version is not None:
            return version
        doc = search.document(self.store, f"{source_type}/{object_name}")
        if doc is not None and doc["source_type"] == source_type and doc["object"] == object_name:
            return doc["version"]
        return None

    def views(self, source_type: str, object_name: str, version: str | None = None) -> ContextViews:
        """The :class:`~dativo_ingest.policy.views.ContextViews` of a contract version (latest when
        ``version`` is None), cached per version; :class:`ContractNotFoundError` when unknown."""
        if version is None:
            version = self.latest(source_type, object_name)
        if version is not None:
            with self._lock:
                hit = self._views.get((source_type, object_name, str(version)))
                if hit is not None:
                    self._views.move_to_end((source_type, object_name, str(version)))
                    return hit
        asset = self.get(source_type, object_name, version)
        s, o, v = asset.source_type, asset.object_name, str(asset.version)
        if s is None or (s, o) != (source_type, object_name):
            # the registry answered for another key: never cache it under this one
            return ContextViews(asset, lambda: asset)
        views = ContextViews(asset, lambda: self.get(s, o, v))
        with self._lock:
            views = self._views.setdefault((s, o, v), views)
            while len(self._views) > VIEW_CACHE_SIZE:
                self._views.popitem(last=False)
        return views

    # ----- index ----------------------------------------------------------------------------------
    def _fingerprint(self) -> tuple | None:
        """Modification times of the registry's directories (two levels): cheap change detection."""
        specs = getattr(self.registry, "specs_dir", None)
        if specs is None:
            return None
        entries: list[tuple] = []
        try:
            entries.append(("", "", os.stat(specs).st_mtime_ns))
            with os.scandir(specs) as children:
                for child in children:
                    if not child.is_dir():
                        continue
                    entries.append((child.name, "", child.stat().st_mtime_ns))
                    with os.scandir(child.path) as grand:
                        entries.extend(
                            (child.name, g.name, g.stat().st_mtime_ns) for g in grand if g.is_dir()
                        )
        except FileNotFoundError:
            return ("missing",)
        return tuple(sorted(entries))

    def ensure_index(self) -> None:
        """Synchronise the index if the registry may have changed (checked at most every ``refresh_seconds``).

        A change seen in the directory fingerprint triggers a sync now and one more at the next check
        (a save writes its files before appending its history entry).
        """
        now = time.monotonic()
        if self._synced_at is not None and now - self._checked_at < self.refresh_seconds:
            return
        with self._sync_lock:
            if self._synced_at is not None and time.monotonic() - self._checked_at < self.refresh_seconds:
                return
            fingerprint = self._fingerprint()
            self._checked_at = time.monotonic()
            if self._synced_at is None or fingerprint is None or fingerprint != self._fingerprint_seen:
                self._sync_locked()
                self._recheck = self._synced_at is not None and fingerprint is not None
            elif self._recheck:
                self._sync_locked()
                self._recheck = False
            self._fingerprint_seen = fingerprint

    def sync(self) -> int:
        """Bring the index in line with the registry now; returns how many contracts were (re)indexed."""
        with self._sync_lock:
            self._fingerprint_seen = self._fingerprint()
            self._checked_at = time.monotonic()
            return self._sync_locked()

    def _sync_locked(self) -> int:
        listed = {f"{s}/{o}": (s, o, str(v)) for s, o, v in self.registry.list_contracts()}
        indexed = search.versions(self.store)
        changed = [entry for key, entry in sorted(listed.items()) if indexed.get(key) != entry[2]]
        gone = sorted(set(indexed) - set(listed))
        written = 0
        for start in range(0, len(changed), LOAD_CHUNK):
            assets = []
            for s, o, v in changed[start : start + LOAD_CHUNK]:
                try:
                    assets.append(self.get(s, o, v))
                except ContractNotFoundError:
                    continue  # removed while we synchronised
            try:
                written += search.upsert(self.store, assets)
            except StoreError:
                # another process indexed the same contracts concurrently; retry once (updates in place)
                written += search.upsert(self.store, assets)
        if gone:
            search.remove(self.store, gone)
        if written + len(gone) >= OPTIMIZE_AFTER:
            search.optimize(self.store)
        if written or gone or len(changed) or len(indexed) != len(listed):
            # the index changed (or not every change could be indexed): read it back
            self._latest = search.latest_versions(self.store)
        else:
            # the index already held exactly the registry's latest versions
            self._latest = {(s, o): v for s, o, v in listed.values()}
        self._synced_at = time.monotonic()
        if written or gone:
            self.generation += 1
            logger.info(
                "search index synchronised", extra={"fields": {"indexed": written, "removed": len(gone)}}
            )
        return written

    # ----- SQL table resolution ---------------------------------------------------------------------
    def resolve_table(self, table: exp.Table) -> AssetDefinition | str | None:
        """The contract a table reference reads, None when ungoverned, or a string when ambiguous.

        Names match case-insensitively. Tried in order: ``source.object`` (also ``raw_source.object``, the
        dbt source), the contract name or physical table name (``stripe_customers``), the dbt staging
        model the generator writes (``stg_<source>__<object>``, also ``stg_<contract name>``), the Iceberg
        table ingestion writes by default (``<source>_<object>``, in any namespace), and a bare object
        name when exactly one source has it.
        """
        name, db = table.name, table.db
        lower = name.lower()
        attempts: list[dict[str, Any]] = []
        if db:
            attempts.append({"key": f"{db}/{name}"})
            if db.lower().startswith("raw_"):
                attempts.append({"key": f"{db[4:]}/{name}"})
        attempts += [{"name": name}, {"physical_name": name}]
        if lower.startswith("stg_"):
            attempts.append({"name": name[4:]})
        else:  # <source>_<object>, as ingestion names its Iceberg tables: all splits together, so two
            # contracts that both name a table that way (a/b_c and a_b/c) are ambiguous, not first-wins
            splits = [
                f"{name[:i]}/{name[i + 1 :]}"
                for i, c in enumerate(name)
                if c == "_" and 0 < i < len(name) - 1
            ]
            attempts.append({"keys": splits})
        if not db:
            attempts.append({"object_name": name})
        ambiguous = f"table {'.'.join(p.name for p in table.parts)} is ambiguous"
        for attempt in attempts:
            if "keys" in attempt:
                hits = [hit for key in attempt["keys"] for hit in search.lookup(self.store, key=key)]
            else:
                hits = search.lookup(self.store, **attempt)
            if len(hits) == 1:
                return self.get(hits[0]["source_type"], hits[0]["object"])
            if len(hits) > 1:
                return ambiguous
        if lower.startswith("stg_") and "__" in lower:
            _, _, obj = lower[4:].partition("__")
            staged = []
            for hit in search.lookup(self.store, object_name=obj):
                asset = self.get(hit["source_type"], hit["object"])
                if default_model_name(asset) == lower:
                    staged.append(asset)
            if len(staged) == 1:
                return staged[0]
            if staged:
                return ambiguous
        return None
