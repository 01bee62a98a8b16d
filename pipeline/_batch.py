"""A batch's post-generation stages on several threads, scheduled around the GIL.

Each image goes through two phases: classification, which is onnxruntime and releases the GIL for
nearly all of its time, and the rest (watermark, encoding, signing, writing), which is numpy,
OpenCV and c2pa calls with a good deal of Python between them.  Two threads doing "the rest" at
once mostly take turns on the GIL, and each slows the other; a thread classifying beside a thread
doing the rest barely touches it.  So while some image still waits to be classified, at most half
the threads (one of two) work on the rest, and the others classify; ``bench/overhead.py`` measures
the batch against one thread.

Images whose first phase rules them out (blocked, failed) skip the second.  The earliest waiting
image is always taken first, so the caller, which commits in order, is never kept waiting by a
later one.
"""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

_T = TypeVar("_T")


def in_two_phases(
    items: Sequence[_T],
    first: Callable[[_T], bool],
    second: Callable[[_T], None],
    *,
    workers: int,
) -> Iterator[_T]:
    """Yield ``items`` in order, each once ``first(item)`` has run on one of ``workers`` threads
    and, when it returned True, ``second(item)`` after it.

    An exception raised by either phase stops the workers taking anything new, and is raised
    here in place of the first item that had not finished.
    Closing the iterator early (or an exception in the caller's loop) lets the phases already
    running finish, starts nothing else, and returns once every worker has stopped."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    schedule = _Schedule(len(items), second_cap=max(1, workers // 2))

    def work() -> None:
        while (job := schedule.take()) is not None:
            index, phase = job
            try:
                if phase == 1:
                    go_on = first(items[index])
                else:
                    second(items[index])
                    go_on = False
            except BaseException as e:
                schedule.fail(e)
                return
            schedule.finished(index, phase, go_on=go_on)

    threads = [
        threading.Thread(target=work, name=f"hallmark-post-{i}", daemon=True)
        for i in range(min(workers, len(items)))
    ]
    for t in threads:
        t.start()
    try:
        for index, item in enumerate(items):
            schedule.wait_done(index)
            yield item
    finally:
        schedule.close()
        for t in threads:
            t.join()


class _Schedule:
    """What is left to do, shared by the workers and the caller under one condition."""

    def __init__(self, count: int, *, second_cap: int) -> None:
        self._cond = threading.Condition()
        self._unclassified = deque(range(count))  # waiting for phase 1, in order
        self._waiting: list[int] = []  # heap: waiting for phase 2, earliest first
        self._in_second = 0
        self._second_cap = second_cap
        self._done = [False] * count
        self._error: BaseException | None = None
        self._closed = False

    def take(self) -> tuple[int, int] | None:
        """The next (index, phase) for a worker, or None when it should stop.  A worker never
        waits: when nothing can be taken now, whatever comes later follows a phase 1 that another
        worker is running, and that worker takes it."""
        with self._cond:
            if self._closed or self._error is not None:
                return None
            if self._waiting and (not self._unclassified or self._in_second < self._second_cap):
                self._in_second += 1
                return heapq.heappop(self._waiting), 2
            if self._unclassified:
                return self._unclassified.popleft(), 1
            return None

    def finished(self, index: int, phase: int, *, go_on: bool) -> None:
        with self._cond:
            if phase == 2:
                self._in_second -= 1
            if go_on:
                heapq.heappush(self._waiting, index)
            else:
                self._done[index] = True
                self._cond.notify_all()

    def fail(self, error: BaseException) -> None:
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()

    def wait_done(self, index: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._done[index] or self._error is not None)
            if not self._done[index]:
                assert self._error is not None
                raise self._error

    def close(self) -> None:
        with self._cond:
            self._closed = True
