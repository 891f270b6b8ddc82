"""The Arrow memory pool a run allocates from.

A run allocates and frees many batch-sized buffers (decoded columns, casts, masks). pyarrow's default
mimalloc pool hands large blocks back to the kernel and faults them in again batch after batch (in
the validation benchmark, system time reached half the user time); jemalloc keeps them for reuse and
still releases them on ``release_unused()``. :func:`run_memory_pool` makes jemalloc (else the system
allocator) the default pool for the duration of a run and restores the previous one after. Buffers
remember their pool, so nothing breaks when the default changes. Set ``ARROW_DEFAULT_MEMORY_POOL``
to keep a pool of your choice.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa


def preferred_pool() -> pa.MemoryPool:
    """jemalloc when this pyarrow build has it, else the system allocator."""
    try:
        return pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return pa.system_memory_pool()


@contextmanager
def run_memory_pool() -> Iterator[pa.MemoryPool]:
    """Allocate from :func:`preferred_pool` inside the block (unless the environment chose a pool)."""
    previous = pa.default_memory_pool()
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        yield previous
        return
    pool = preferred_pool()
    pa.set_memory_pool(pool)
    try:
        yield pool
    finally:
        pa.set_memory_pool(previous)
