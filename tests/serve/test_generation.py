"""``Generator``'s in-process queue: one job at a time per process, at most ``queue`` waiting,
the next one refused with a 503 and Retry-After; the event loop is free while a job runs.  The
model work is replaced by a job that waits on an event (the guarded pipeline itself is driven
for real in test_operator.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hallmark.pipeline.serve._errors import ApiError
from hallmark.pipeline.serve._generation import Generator


def test_one_job_at_a_time_and_a_bounded_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gen = Generator(home=tmp_path, model="tiny", policy="default", out_root=tmp_path, queue=2)
    release = threading.Event()
    running: list[int] = []
    most = [0]

    def fake_run(job: Any) -> dict[str, Any]:
        running.append(job)
        most[0] = max(most[0], len(running))
        release.wait(10)
        running.remove(job)
        return {"job": job}

    monkeypatch.setattr(gen, "_run_local", fake_run)

    async def scenario() -> None:
        first = asyncio.ensure_future(gen.generate(1))
        second = asyncio.ensure_future(gen.generate(2))
        await asyncio.sleep(0.2)
        with pytest.raises(ApiError, match="2 generation requests are already waiting") as refused:
            await gen.generate(3)
        assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "30"
        started = time.monotonic()
        await asyncio.sleep(0.05)  # the loop is not blocked by the running job
        assert time.monotonic() - started < 1.0
        release.set()
        assert [await first, await second] == [{"job": 1}, {"job": 2}]

    asyncio.run(scenario())
    gen.close()
    assert most[0] == 1
