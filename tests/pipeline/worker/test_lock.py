"""One run of a request at a time: a second holder waits, and a killed holder frees the lock."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import pytest

from hallmark.pipeline.worker._lock import request_lock

RID = "01a23747-c2c7-74e2-8cc4-121a9eae31d9"


def _hold(url: str, lock_file: str, held, release) -> None:  # type: ignore[no-untyped-def]
    with request_lock(url, RID, lock_file=Path(lock_file)):
        held.set()
        release.wait(60)


def _takes(url: str, lock_file: Path, timeout: float) -> bool:
    """Whether this process gets the lock within ``timeout`` seconds (tried in a child)."""
    ctx = mp.get_context("fork")
    got = ctx.Event()
    never = ctx.Event()
    p = ctx.Process(target=_hold, args=(url, str(lock_file), got, never))
    p.start()
    ok = got.wait(timeout)
    p.kill()
    p.join()
    return ok


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return request.getfixturevalue("pg_log_url")


def test_a_second_run_waits_and_a_killed_holder_frees_the_lock(url: str, tmp_path: Path) -> None:
    lock_file = tmp_path / "worker-requests.lock"
    ctx = mp.get_context("fork")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(url, str(lock_file), held, release))
    holder.start()
    assert held.wait(30)
    assert not _takes(url, lock_file, 1.5)  # held elsewhere: the second run waits
    os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
    holder.join()
    time.sleep(0.2)
    assert _takes(url, lock_file, 10)  # the dead holder's lock went with it


def test_other_requests_do_not_wait(url: str, tmp_path: Path) -> None:
    lock_file = tmp_path / "worker-requests.lock"
    with request_lock(url, "01a23747-0000-7000-8000-000000000001", lock_file=lock_file):
        assert _takes(url, lock_file, 10)
