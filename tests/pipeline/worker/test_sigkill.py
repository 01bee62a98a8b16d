"""Three real workers (RabbitMQ, Redis, one PostgreSQL audit log) generate while pool processes
and whole workers are SIGKILLed mid-job: every job finishes, every image is released exactly once
(one ``image.released`` entry per record, one file per entry), and ``hallmark audit verify`` passes
in every worker's home.  Then a bulk verification of what they released runs as a chord."""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hallmark.audit import AuditLog
from hallmark.pipeline import new_record_id
from hallmark.pipeline.worker import (
    GenerationJob,
    WorkerSettings,
    make_app,
    submit_generation,
    submit_verification,
)

BROKER_URL = os.environ.get("HALLMARK_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_BROKER_URL = os.environ.get("HALLMARK_TEST_REDIS_BROKER_URL", "redis://127.0.0.1:6379/1")
RESULT_URL = os.environ.get("HALLMARK_TEST_RESULT_URL", "redis://127.0.0.1:6379/0")
DropQueues = Callable[[Any, str], None]
HALLMARK = str(Path(sys.executable).with_name("hallmark"))


class Worker:
    """One ``hallmark worker`` process group, with its own home (the same keys as the others)."""

    def __init__(self, root: Path, name: str, base_home: Path, env: dict[str, str], out: Path) -> None:
        self.home = root / name
        shutil.copytree(base_home, self.home)
        self.env, self.out = env, out
        self.log = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [HALLMARK, "worker", "--concurrency", "1", "--out", str(self.out), "--home", str(self.home)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a whole worker can be killed at once
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        os.killpg(self.pid, signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_mid_job(
    results: list, workers: list[Worker], kills: int, rng: random.Random, deadline: float
) -> list[str]:
    """SIGKILL, ``kills`` times, the process running a started job: alternately its pool process
    (its worker starts another and puts the job back) and its whole worker (restarted here; the
    broker hands the job on).  Returns what was killed."""
    done: list[str] = []
    while len(done) < kills and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.1, 0.5))
        started = [r for r in results if r.state == "STARTED" and isinstance(r.info, dict)]
        if not started:
            if all(r.ready() for r in results):
                break  # every job is done: no moment is left to kill one in
            continue
        info = rng.choice(started).info
        pid, main = int(info["pid"]), int(re.match(r"hallmark(\d+)@", info["hostname"]).group(1))
        owner = next((w for w in workers if w.proc is not None and w.pid == main), None)
        if owner is None or not _alive(pid) or owner.proc.poll() is not None:  # type: ignore[union-attr]
            continue
        time.sleep(rng.uniform(0.0, 0.3))  # a random moment of the job
        if len(done) % 2 == 0:
            os.kill(pid, signal.SIGKILL)
            done.append(f"pool process {pid}")
        else:
            owner.kill()
            owner.start()
            done.append(f"worker {main}")
    return done


class BrokerLink:
    """A TCP relay between the workers and RabbitMQ that can be cut: every connection through it
    drops at once (as when the broker restarts), and new ones are refused until it is restored."""

    def __init__(self, port: int = 5672) -> None:
        self.upstream = port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.up = True
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            broker = socket.create_connection(("127.0.0.1", self.upstream))
            with self.lock:
                self.conns += [client, broker]
            for a, b in ((client, broker), (broker, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for sock in (a, b):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for sock in self.conns:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.conns.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.server.close()


def _cut_broker_mid_job(link: BrokerLink, results: list, outages: int, deadline: float) -> list[str]:
    """Cut every worker's broker connection ``outages`` times while a job runs, for 2 s each."""
    done: list[str] = []
    while len(done) < outages and time.monotonic() < deadline:
        time.sleep(0.5)
        if not any(r.state == "STARTED" for r in results):
            continue
        link.cut()
        time.sleep(2.0)
        link.restore()
        done.append("broker connection")
    return done


def _run(
    tmp_path: Path,
    pg_log_url: str,
    *,
    jobs: int,
    n: int,
    kills: int,
    seed: int,
    broker: str = BROKER_URL,
    outages: int = 0,
    drop_queues: DropQueues,
) -> None:
    base = tmp_path / "base"
    link = BrokerLink() if outages else None
    env = {
        **os.environ,
        "HALLMARK_AUDIT_URL": pg_log_url,
        "HALLMARK_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{link.port}//" if link else broker,
        # Redis hands a dead worker's job on after this; a job still running then is handed out
        # twice, and the second delivery must wait for the first and release nothing.
        "HALLMARK_VISIBILITY_TIMEOUT": "10",
        # Random kills may hit one job several times; these tests are about recovery, not about
        # the poison-job limit (tests/pipeline/worker/test_poison.py).
        "HALLMARK_MAX_DELIVERIES": "100",
        "HALLMARK_RESULT_URL": RESULT_URL,
        "HALLMARK_QUEUE_PREFIX": f"hallmark-test-{uuid.uuid4().hex[:8]}.",
        "OMP_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    for setup in (["keys", "init"], ["audit", "checkpoint"]):  # the keys every worker gets a copy of
        subprocess.run([HALLMARK, *setup, "--home", str(base)], env=env, check=True, capture_output=True)
    out = tmp_path / "out"
    workers = [Worker(tmp_path, f"w{i}", base, env, out) for i in range(3)]
    settings = WorkerSettings(
        broker_url=broker,
        result_url=RESULT_URL,
        queue_prefix=env["HALLMARK_QUEUE_PREFIX"],
        visibility_timeout=10,
    )
    app = make_app(settings)
    rng = random.Random(seed)
    try:
        for w in workers:
            w.start()
        submitted = [
            GenerationJob(
                request_id=str(new_record_id()),
                prompt=f"a lighthouse, view {i}",
                n=n,
                width=256,
                height=256,
                # Several steps, so that each job lasts long enough on a fast machine for every
                # planned kill to land while jobs still run.
                steps=6,
                out=f"job{i % 4}",
            )
            for i in range(jobs)
        ]
        results = [submit_generation(app, job) for job in submitted]
        deadline = time.monotonic() + 60 * max(3, kills)
        killed = _kill_mid_job(results, workers, kills, rng, deadline)
        assert len(killed) == kills, f"only {len(killed)} kills landed mid-job: {killed}"
        if link is not None:
            cut = _cut_broker_mid_job(link, results, outages, deadline)
            assert len(cut) == outages, f"only {len(cut)} outages landed mid-job"
        done = [r.get(timeout=max(1.0, deadline - time.monotonic())) for r in results]

        files = [img["path"] for d in done for img in d["images"]]
        summary = submit_verification(app, files, chunk_size=4).get(timeout=300)
    finally:
        for w in workers:
            w.stop()
        drop_queues(app, env["HALLMARK_QUEUE_PREFIX"])
        app.close()
        if link is not None:
            link.close()

    # Every job finished with all its images, each released once.
    for job, d in zip(submitted, done, strict=True):
        assert d["request_id"] == job.request_id
        assert len(d["images"]) == n and not d["withheld"], d
        assert "prompt" not in str(d) and job.prompt not in str(d)  # the result store never holds it
    with AuditLog.open(pg_log_url, key_path=base / "keys" / "audit-checkpoint.key", create=False) as log:
        entries = list(log.entries())
    released = [e for e in entries if e.kind == "image.released"]
    per_record = Counter(e.data["record_id"] for e in released)
    assert set(per_record.values()) == {1}, [r for r, k in per_record.items() if k > 1]
    assert sorted(per_record) == sorted(img["record_id"] for d in done for img in d["images"])
    assert len(released) == jobs * n
    assert {e.data["request_id"] for e in released} == {j.request_id for j in submitted}
    for e in released:  # one file per entry, holding the bytes it recorded
        assert hashlib.sha256(Path(e.data["path"]).read_bytes()).hexdigest() == e.data["sha256"]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert len(list(out.rglob("*.png"))) == jobs * n

    pinned = 0
    for w in workers:  # the shared log verifies from every worker's home
        check = subprocess.run(
            [HALLMARK, "audit", "verify", "--home", str(w.home)], env=env, capture_output=True, text=True
        )
        if (w.home / "audit-checkpoint.txt").exists():  # it appended: held to its own checkpoint
            assert check.returncode == 0, check.stdout + check.stderr
            pinned += 1
        else:  # a worker that never appended has no checkpoint to hold the log to: consistent only
            assert check.returncode == 3 and "audit log is consistent" in check.stdout, check.stdout
    assert pinned >= 2

    assert summary["files"] == jobs * n
    assert summary["verdicts"] == {"hallmark-signed": jobs * n}, summary


def test_sigkilled_workers_lose_no_job_and_release_nothing_twice(
    tmp_path: Path, pg_log_url: str, drop_queues
) -> None:  # type: ignore[no-untyped-def]
    _run(tmp_path, pg_log_url, jobs=16, n=2, kills=4, seed=17, drop_queues=drop_queues)


def test_with_redis_as_the_broker(tmp_path: Path, pg_log_url: str, drop_queues: DropQueues) -> None:
    _run(tmp_path, pg_log_url, jobs=8, n=2, kills=2, seed=5, broker=REDIS_BROKER_URL, drop_queues=drop_queues)


def test_jobs_resume_after_the_broker_connection_drops(
    tmp_path: Path, pg_log_url: str, drop_queues: DropQueues
) -> None:
    """Every worker loses the broker twice mid-job (as in a broker restart): the broker puts their
    unacknowledged jobs back, the workers reconnect, and the jobs run again without a release twice."""
    _run(tmp_path, pg_log_url, jobs=12, n=2, kills=0, seed=9, outages=2, drop_queues=drop_queues)


@pytest.mark.slow
def test_ten_sigkills_during_sixty_jobs(tmp_path: Path, pg_log_url: str, drop_queues: DropQueues) -> None:
    _run(tmp_path, pg_log_url, jobs=60, n=2, kills=10, seed=23, drop_queues=drop_queues)
