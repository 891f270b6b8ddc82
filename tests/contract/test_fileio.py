"""Durable file helpers: a lock held elsewhere gives a clear error after the wait, not filelock's own."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dativo_ingest.errors import LockTimeoutError
from dativo_ingest.fileio import locked


def test_a_lock_held_too_long_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locked(target):
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    try:
        with (
            pytest.raises(LockTimeoutError, match=r"held this lock for over 0\.2 s") as caught,
            locked(target, 0.2),
        ):
            pass
        assert caught.value.path == f"{target}.lock"
    finally:
        release.set()
        thread.join()
    with locked(target, 0.2):  # free again once released
        pass
