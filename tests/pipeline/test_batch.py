"""The two-phase batch scheduler: order, skipping, the limit on concurrent second phases,
errors and early close."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection

import pytest

from hallmark.pipeline._batch import in_two_phases


class Recorder:
    """Phases that sleep (releasing the GIL, as onnxruntime and OpenCV do) and record what ran
    where, and how many second phases overlapped while first phases were still unstarted."""

    def __init__(self, count: int, *, blocked: Collection[int] = (), sleep: float = 0.004) -> None:
        self.count = count
        self.blocked = blocked
        self.sleep = sleep
        self.lock = threading.Lock()
        self.first_started = 0
        self.in_second = 0
        self.overlaps_with_unclassified = 0
        self.ran: list[tuple[int, int, int]] = []  # (phase, index, thread)

    def first(self, i: int) -> bool:
        with self.lock:
            self.first_started += 1
            self.ran.append((1, i, threading.get_ident()))
        time.sleep(self.sleep)
        return i not in self.blocked

    def second(self, i: int) -> None:
        with self.lock:
            self.in_second += 1
            if self.in_second > 1 and self.first_started < self.count:
                self.overlaps_with_unclassified += 1
            self.ran.append((2, i, threading.get_ident()))
        time.sleep(self.sleep)
        with self.lock:
            self.in_second -= 1


def test_items_come_back_in_order_each_after_its_phases() -> None:
    rec = Recorder(12, blocked={3, 7})
    seen = []
    for i in in_two_phases(list(range(12)), rec.first, rec.second, workers=2):
        seen.append(i)
        assert (1, i) in {(p, j) for p, j, _ in rec.ran}
        assert ((2, i) in {(p, j) for p, j, _ in rec.ran}) == (i not in {3, 7})
    assert seen == list(range(12))
    firsts = sorted(j for p, j, _ in rec.ran if p == 1)
    seconds = sorted(j for p, j, _ in rec.ran if p == 2)
    assert firsts == list(range(12))
    assert seconds == [i for i in range(12) if i not in {3, 7}]


def test_both_threads_work_and_second_phases_do_not_overlap_while_images_wait() -> None:
    rec = Recorder(16)
    assert list(in_two_phases(list(range(16)), rec.first, rec.second, workers=2)) == list(range(16))
    assert len({t for p, _, t in rec.ran if p == 1}) == 2
    assert rec.overlaps_with_unclassified == 0


def test_one_worker_runs_everything_on_one_thread() -> None:
    rec = Recorder(5)
    assert list(in_two_phases(list(range(5)), rec.first, rec.second, workers=1)) == list(range(5))
    assert len({t for _, _, t in rec.ran}) == 1
    with pytest.raises(ValueError, match="workers must be at least 1"):
        list(in_two_phases([1], rec.first, rec.second, workers=0))


def test_an_error_in_a_phase_reaches_the_caller_and_stops_the_workers() -> None:
    rec = Recorder(20)

    def second(i: int) -> None:
        rec.second(i)
        if i == 2:
            raise RuntimeError("stage bug")

    before = threading.active_count()
    got = []
    with pytest.raises(RuntimeError, match="stage bug"):
        for i in in_two_phases(list(range(20)), rec.first, second, workers=2):
            got.append(i)
    assert got == list(range(len(got))) and len(got) <= 2  # what finished before the failure
    assert rec.first_started < 20  # nothing new was started after the failure
    assert threading.active_count() == before


def test_closing_early_starts_nothing_more_and_joins_the_workers() -> None:
    rec = Recorder(20)
    before = threading.active_count()
    batch = in_two_phases(list(range(20)), rec.first, rec.second, workers=2)
    assert next(batch) == 0
    batch.close()
    assert threading.active_count() == before
    started = rec.first_started
    time.sleep(0.05)
    assert rec.first_started == started < 20
