"""Load contract files for a comparison; two large files are parsed side by side.

Parsing YAML dominates a diff of two large contracts, and it holds the GIL, so the second file is
loaded in a forked child process while the parent loads the first. Small files, platforms without
``fork`` and any failure in the child fall back to loading in-process (which reports errors as usual).
"""

from __future__ import annotations

import multiprocessing
import pickle
from pathlib import Path
from typing import Any

#: Combined size above which two files are loaded in parallel.
PARALLEL_BYTES = 512 * 1024


def load_contract(path: str | Path) -> Any:
    from dativo_ingest.config import AssetDefinition

    return AssetDefinition.from_yaml(path)


def load_pair(first: str | Path, second: str | Path) -> tuple[Any, Any]:
    """Both contracts (``AssetDefinition``), parsed in parallel when they are large."""
    if not _worth_forking(first, second):
        return load_contract(first), load_contract(second)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_load_into, args=(str(second), sender), daemon=True)
    child.start()
    sender.close()
    try:
        left = load_contract(first)
        payload = receiver.recv_bytes()
    except EOFError:
        payload = b""
    finally:
        receiver.close()
        child.join()
    right = pickle.loads(payload) if payload else load_contract(second)  # our own child wrote it
    return left, right


def _worth_forking(*paths: str | Path) -> bool:
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        return sum(Path(p).stat().st_size for p in paths) >= PARALLEL_BYTES
    except OSError:
        return False


def _load_into(path: str, sender: Any) -> None:
    """Child: send the pickled contract, or empty bytes when loading failed (the parent retries)."""
    try:
        payload = pickle.dumps(load_contract(path), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:  # the parent reloads to report errors
        payload = b""
    try:
        sender.send_bytes(payload)
    finally:
        sender.close()
