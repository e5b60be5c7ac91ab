"""Items from a producer thread to a consumer: ``put_dropping_oldest`` (a bounded queue that keeps the newest) and
``Prefetch`` (an iterable read in a background thread, a bounded number of items ahead)."""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, Iterator

END = object()  # what ``Prefetch.get`` returns once the iterable is exhausted


def put_dropping_oldest(q: queue.Queue, item) -> int:
    """Put ``item`` in ``q`` without waiting, dropping the oldest waiting items to make room; how many were dropped."""
    dropped = 0
    while True:
        try:
            q.put_nowait(item)
            return dropped
        except queue.Full:
            try:
                q.get_nowait()
                dropped += 1
            except queue.Empty:
                pass


class Prefetch:
    """Iterate ``items`` in a background thread (PyAV decodes without the GIL), up to ``depth`` items ahead; an
    exception of the producer is raised in the consumer.

    ``drop_oldest``: a producer that finds the queue full for 0.1 s drops the oldest waiting item instead of waiting
    longer (a live source: the newest frame matters); ``dropped`` counts them and ``on_drop(dropped)`` hears of each.
    ``get(timeout_s)``: the next item, ``END`` after the last, ``queue.Empty`` after ``timeout_s`` s without one.
    Iterating gets until ``END``. ``close()`` stops the thread (also when an iteration ends early)."""

    def __init__(self, items: Iterable, depth: int = 16, *, drop_oldest: bool = False,
                 on_drop: Callable[[int], None] | None = None, name: str = "pseudopulse-prefetch"):  # fmt: skip
        self.q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self.stop = threading.Event()
        self.drop_oldest, self.on_drop = drop_oldest, on_drop
        self.dropped = 0
        self.thread = threading.Thread(target=self._produce, args=(items,), name=name, daemon=True)
        self.thread.start()

    def _produce(self, items: Iterable) -> None:
        try:
            for item in items:
                if not self._put(item, droppable=self.drop_oldest):
                    return
            self._put(END)
        except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
            self._put(e)

    def _put(self, item, droppable: bool = False) -> bool:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=0.1)
                return True
            except queue.Full:
                if droppable:
                    for _ in range(put_dropping_oldest(self.q, item)):
                        self.dropped += 1
                        if self.on_drop is not None:
                            self.on_drop(self.dropped)
                    return True
        return False

    def get(self, timeout_s: float | None = None):
        item = self.q.get(timeout=timeout_s)
        if isinstance(item, BaseException):
            raise item
        return item

    def __iter__(self) -> Iterator:
        try:
            while (item := self.get()) is not END:
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
