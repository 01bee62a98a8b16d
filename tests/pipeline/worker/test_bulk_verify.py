"""Bulk verification of 500 files as a chord over two verify-only workers, one of whose pool
processes is SIGKILLed mid-chunk: every file is verified once in the summary, verdicts exact."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from hallmark.pipeline import GuardedPipeline
from hallmark.pipeline.worker import WorkerSettings, make_app, submit_verification
from hallmark.provenance import init_keys

DropQueues = Callable[[Any, str], None]
HALLMARK = str(Path(sys.executable).with_name("hallmark"))
BROKER_URL = os.environ.get("HALLMARK_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
RESULT_URL = os.environ.get("HALLMARK_TEST_RESULT_URL", "redis://127.0.0.1:6379/0")


def render(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
    rng = np.random.default_rng(3)
    return [Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)) for _ in range(n)]


def test_five_hundred_files_in_chunks_survive_a_killed_pool_process(
    tmp_path: Path,
    services: None,
    monkeypatch: pytest.MonkeyPatch,
    drop_queues: DropQueues,
) -> None:
    home = tmp_path / "home"
    monkeypatch.delenv("HALLMARK_AUDIT_URL", raising=False)
    init_keys(home / "keys")
    with GuardedPipeline(render, home=home) as pipe:
        released = pipe("a lighthouse", n=2, size=256, out_dir=tmp_path / "made").images
    archive = tmp_path / "archive"
    archive.mkdir()
    for i in range(300):  # copies verify as their originals: the binding is to the bytes
        shutil.copy(released[i % 2].path, archive / f"signed-{i:03d}.png")
    rng = np.random.default_rng(0)
    for i in range(200):  # images with no provenance at all
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
            archive / f"plain-{i:03d}.png"
        )
    files = sorted(str(p) for p in archive.iterdir())

    prefix = f"hallmark-test-{uuid.uuid4().hex[:8]}."
    env = {
        **os.environ,
        "HALLMARK_BROKER_URL": BROKER_URL,
        "HALLMARK_RESULT_URL": RESULT_URL,
        "HALLMARK_QUEUE_PREFIX": prefix,
        "OMP_NUM_THREADS": "1",
    }
    workers = []
    for i in range(2):
        with open(tmp_path / f"w{i}.log", "wb") as log:
            workers.append(
                subprocess.Popen(
                    [HALLMARK, "worker", "--queues", "verify", "--allow-sqlite", "--home", str(home)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    app = make_app(WorkerSettings(broker_url=BROKER_URL, result_url=RESULT_URL, queue_prefix=prefix))
    try:
        summary = submit_verification(app, files, chunk_size=25)
        chunks = summary.parent.results
        killed = None
        deadline = time.monotonic() + 240
        while killed is None and time.monotonic() < deadline:
            started = [c for c in chunks if c.state == "STARTED" and isinstance(c.info, dict)]
            if started:
                pid = int(random.Random(1).choice(started).info["pid"])
                time.sleep(0.05)
                os.kill(pid, signal.SIGKILL)
                killed = pid
            time.sleep(0.05)
        assert killed is not None, "no chunk was seen running"
        counts = summary.get(timeout=max(1.0, deadline - time.monotonic()))
        reports = [r for c in chunks for r in c.get(timeout=10)]
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
        drop_queues(app, prefix)
        app.close()

    assert sorted(r["source"] for r in reports) == files  # each file once, none lost with the pool process
    assert counts["files"] == 500 and counts["passed"] == sum(r["passed"] for r in reports)
    assert counts["verdicts"] == {"hallmark-signed": 300, "no-provenance-found": 200}, counts
    logs = "".join((tmp_path / f"w{i}.log").read_text() for i in range(2))
    assert f"pid:{killed} exited with 'signal 9 (SIGKILL)'" in logs
