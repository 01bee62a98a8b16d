"""Poison jobs on a real broker: a job whose worker dies every time it runs it is given up after
the delivery limit (failed with its reason, nothing released), a malformed job fails once without
being redelivered, and a verification chunk that kills its worker is reported file by file while
the rest of the bulk verification finishes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hallmark.audit import AuditLog
from hallmark.pipeline import GuardedPipeline, new_record_id
from hallmark.pipeline.worker import (
    GENERATE,
    GenerationJob,
    WorkerSettings,
    job_status,
    make_app,
    submit_generation,
    submit_verification,
)
from hallmark.pipeline.worker._deliveries import deliveries
from hallmark.provenance import init_keys

DropQueues = Callable[[Any, str], None]
HALLMARK = str(Path(sys.executable).with_name("hallmark"))
BROKER_URL = os.environ.get("HALLMARK_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_BROKER_URL = os.environ.get("HALLMARK_TEST_REDIS_BROKER_URL", "redis://127.0.0.1:6379/1")
RESULT_URL = os.environ.get("HALLMARK_TEST_RESULT_URL", "redis://127.0.0.1:6379/0")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_whenever_started(app: Any, result: Any, limit: int, deadline: float) -> list[int]:
    """SIGKILL the pool process running ``result``'s job each time one takes it to run it (its
    deliveries up to ``limit``; a later one is given up unrun), until the job is finished; returns
    the processes killed."""
    killed: list[int] = []
    while not result.ready():
        assert time.monotonic() < deadline, f"job not finished after {len(killed)} kills"
        info = result.info
        if (
            result.state == "STARTED"
            and isinstance(info, dict)
            and (deliveries(app.backend, result.id) or 0) <= limit
        ):
            pid = int(info["pid"])
            if pid not in killed and _alive(pid):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.01)
    return killed


def _render(prompt: str, n: int, width: int, height: int) -> list:  # type: ignore[type-arg]
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)) for _ in range(n)]


@pytest.mark.parametrize("broker", [BROKER_URL, REDIS_BROKER_URL], ids=["rabbitmq", "redis"])
def test_a_job_that_kills_its_worker_is_given_up_after_the_limit(
    broker: str, tmp_path: Path, services: None, monkeypatch: pytest.MonkeyPatch, drop_queues: DropQueues
) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    init_keys(home / "keys")
    audit_url = f"sqlite:///{home / 'audit.db'}"
    monkeypatch.setenv("HALLMARK_AUDIT_URL", audit_url)
    with GuardedPipeline(_render, home=home) as pipe:  # an archive to verify: 2 signed files
        signed = [i.path for i in pipe("a lighthouse", n=2, size=256, out_dir=tmp_path / "made").images]
    archive = tmp_path / "archive"
    archive.mkdir()
    for i in range(120):
        shutil.copy(signed[i % 2], archive / f"{i:03d}.png")
    poison_chunk = sorted(str(p) for p in archive.iterdir())
    good_chunk = [str(p) for p in signed]

    prefix = f"hallmark-test-{uuid.uuid4().hex[:8]}."
    env = {
        **os.environ,
        "HALLMARK_BROKER_URL": broker,
        "HALLMARK_RESULT_URL": RESULT_URL,
        "HALLMARK_QUEUE_PREFIX": prefix,
        "HALLMARK_AUDIT_URL": audit_url,
        "OMP_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [HALLMARK, "worker", "--allow-sqlite", "--max-deliveries", "2", "--out", str(out),
             "--home", str(home)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    app = make_app(WorkerSettings(broker_url=broker, result_url=RESULT_URL, queue_prefix=prefix))
    try:
        deadline = time.monotonic() + 300
        # A generation job long enough (50 steps) to be killed before it releases anything.
        job = GenerationJob(
            request_id=str(new_record_id()), prompt="a lighthouse", width=256, height=256, steps=50
        )
        result = submit_generation(app, job)
        killed = _kill_whenever_started(app, result, 2, deadline)
        status = job_status(app, job.request_id)

        # A malformed job fails at once and is acknowledged: not delivered again.
        bad_id = str(new_record_id())
        bad = app.send_task(
            GENERATE, args=[{"request_id": bad_id, "prompt": "a lighthouse", "api_key": "x"}], task_id=bad_id
        )
        with pytest.raises(Exception, match="unknown generation job field 'api_key'"):
            bad.get(timeout=120)
        bad_status = job_status(app, bad_id)

        # A verification chunk that kills its worker every time: its files are reported as not
        # verified, the other chunk is verified, and the summary counts both.
        summary = submit_verification(app, poison_chunk + good_chunk, chunk_size=len(poison_chunk))
        poison, good = summary.parent.results
        chunk_kills = _kill_whenever_started(app, poison, 2, deadline)
        counts = summary.get(timeout=max(1.0, deadline - time.monotonic()))
        poison_reports, good_reports = poison.get(timeout=10), good.get(timeout=10)
        shown = subprocess.run(
            [HALLMARK, "jobs", "show", job.request_id], env=env, capture_output=True, text=True, timeout=120
        )
        shown_json = subprocess.run(
            [HALLMARK, "jobs", "show", job.request_id, "--json"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        drop_queues(app, prefix)
        app.close()

    logs = log_path.read_text()
    assert len(killed) == 2, (killed, logs[-3000:])
    assert all(f"pid:{pid} exited with 'signal 9 (SIGKILL)'" in logs for pid in killed)
    assert status["state"] == "FAILURE" and status["deliveries"] == 3, status
    assert f"PoisonJobError: job {job.request_id} given up at its delivery 3" in status["error"]
    assert "during each of the 2 before" in status["error"]
    assert shown.returncode == 0 and "FAILURE" in shown.stdout and "delivered 3 times" in shown.stdout
    assert "given up at its delivery 3" in " ".join(shown.stdout.split())
    shown_doc = json.loads(shown_json.stdout)
    assert shown_doc["state"] == "FAILURE" and shown_doc["deliveries"] == 3
    with AuditLog.open(audit_url, key_path=home / "keys" / "audit-checkpoint.key", create=False) as log:
        mine = [e for e in log.entries() if e.data.get("request_id") == job.request_id]
    assert not [e for e in mine if e.kind == "image.released"], mine  # nothing released
    assert not out.exists() or not list(out.rglob("*.png"))

    assert bad_status["state"] == "FAILURE" and "deliveries" not in bad_status  # delivered once

    assert len(chunk_kills) == 2, chunk_kills
    assert [r["source"] for r in poison_reports] == poison_chunk
    assert {r["verdict"] for r in poison_reports} == {"error"}
    assert all("died during each of its 2 deliveries" in r["error"] for r in poison_reports)
    assert {r["verdict"] for r in good_reports} == {"hallmark-signed"}
    assert counts == {"files": 122, "passed": 2, "verdicts": {"error": 120, "hallmark-signed": 2}}, counts
