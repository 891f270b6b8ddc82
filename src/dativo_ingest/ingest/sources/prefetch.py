"""Read the next batches on a background thread while the current one is validated (bounded queue).

Arrow's readers release the GIL while decoding, so on two or more cores decoding overlaps validation.
At most ``depth`` batches wait in the queue, so memory stays bounded. Errors are re-raised in the
consumer; closing the consumer's generator stops the reader thread.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")


class _End:
    """The marker the reader thread queues after the last item."""


_END = _End()


def prefetch(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """``items`` produced ahead by a daemon thread (inline when the machine has a single core)."""
    if (os.cpu_count() or 1) < 2:
        yield from items
        return
    slots: queue.Queue[T | _Failure | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: T | _Failure | _End) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failure(exc))

    worker = threading.Thread(target=produce, name="dativo-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
