"""``hallmark worker`` jobs beside the same work in one process, measured in the same run.

A home gets keys and a fresh PostgreSQL audit log; an archive of found images is made (copies of
images released by the built-in tiny model, and plain noise images with no provenance).  Then:

- ``hallmark worker --concurrency 1`` and ``--concurrency 2`` (RabbitMQ broker, Redis results,
  the same audit log): generation requests queued at once (``submit_generation``: n=1, 512 px,
  2 steps, each with its request id), and the archive as a chord of chunks
  (``submit_verification``);
- the baseline, measured right before each of those figures while the worker idles: the same
  requests one after another in this process (``GuardedPipeline.from_pretrained("tiny")``) and
  ``Verifier.verify`` on every file (the machine is shared: what else runs changes by the minute).

It prints jobs/s and files/s with their ratio to the baseline, and the queue's added latency per
job: the round trip of a job that does nothing (an empty verify chunk: submit, deliver, run, store
the result, see it), one at a time on an idle worker, p50 and p99 (target: p50 at most 20 ms on
loopback); and a generation job one at a time through the queue beside the same request in this
process.  Model loading is left out of every figure (each pool process loads once, at start).
The machine is shared with other work: expect noise, compare the ratios.

    PYTHONPATH=. python bench/workers.py [--quick] [--jobs 40] [--files 400] [--chunk 25]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # the same for this process and every pool process

PG_URL = os.environ.get("HALLMARK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BROKER_URL = os.environ.get("HALLMARK_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
RESULT_URL = os.environ.get("HALLMARK_BENCH_RESULT_URL", "redis://127.0.0.1:6379/0")
SIZE, STEPS = 512, 2


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def hallmark(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "hallmark", *args], env=env, check=True, capture_output=True)


def make_archive(pipe: Any, folder: Path, *, files: int) -> list[str]:
    """``files`` images: half copies of 4 released 512 px PNGs, half noise with no provenance."""
    import numpy as np
    from PIL import Image

    from hallmark.pipeline import new_record_id

    made = pipe(
        "a lighthouse at dawn", n=4, size=SIZE, steps=STEPS, out_dir=folder / "made",
        request_id=str(new_record_id()),
    ).images  # fmt: skip
    archive = folder / "archive"
    archive.mkdir()
    rng = np.random.default_rng(0)
    for i in range(files):
        if i % 2 == 0:
            shutil.copy(made[i % 4].path, archive / f"signed-{i:04d}.png")
        else:
            pixels = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(archive / f"plain-{i:04d}.png")
    return sorted(str(p) for p in archive.iterdir())


class Worker:
    """One ``hallmark worker --concurrency N`` process group, stopped on exit whatever happens."""

    def __init__(self, env: dict[str, str], home: Path, out: Path, log: Path, concurrency: int) -> None:
        with open(log, "wb") as f:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hallmark", "worker", "--concurrency", str(concurrency),
                 "--out", str(out), "--home", str(home), "--loglevel", "WARNING"],
                env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def empty_job(app: Any) -> Any:
    from hallmark.pipeline.worker import VERIFY_CHUNK

    return app.send_task(VERIFY_CHUNK, args=[[]])


def gen_job(i: int) -> Any:
    from hallmark.pipeline import new_record_id
    from hallmark.pipeline.worker import GenerationJob

    return GenerationJob(
        request_id=str(new_record_id()), prompt=f"a lighthouse, view {i}", width=SIZE, height=SIZE,
        steps=STEPS, out="queued",
    )  # fmt: skip


class Local:
    """The baseline: the same work in this process, with its own loaded pipeline and verifier."""

    def __init__(self, pipe: Any, verifier: Any, out: Path) -> None:
        self.pipe, self.verifier, self.out = pipe, verifier, out

    def request(self, i: int) -> float:
        job = gen_job(i)
        t0 = time.perf_counter()
        result = self.pipe(
            job.prompt, n=1, size=(SIZE, SIZE), steps=STEPS, out_dir=self.out, request_id=job.request_id
        )
        assert len(result.images) == 1, result
        return time.perf_counter() - t0

    def jobs_s(self, jobs: int) -> float:
        t0 = time.perf_counter()
        for k in range(jobs):
            self.request(k)
        return jobs / (time.perf_counter() - t0)

    def verify(self, files: list[str]) -> tuple[float, dict[str, int]]:
        verdicts: dict[str, int] = {}
        t0 = time.perf_counter()
        for f in files:
            v = self.verifier.verify(Path(f)).verdict.value
            verdicts[v] = verdicts.get(v, 0) + 1
        return len(files) / (time.perf_counter() - t0), verdicts


def measure(
    app: Any,
    local: Local,
    files: list[str],
    *,
    jobs: int,
    chunk: int,
    concurrency: int,
    singles: int,
    empties: int,
) -> dict[str, Any]:
    """Each figure of the workers beside the same work in this process, measured right before it
    (the machine is shared: what else runs changes from minute to minute)."""
    from hallmark.pipeline.worker import submit_generation, submit_verification

    # Ready: every pool process has loaded the model (before it takes a job); then warm, as the
    # baseline is: a process's first requests and first verifications are slower than the rest.
    for r in [empty_job(app) for _ in range(concurrency)]:
        r.get(timeout=300)
    for r in [submit_generation(app, gen_job(-1 - k)) for k in range(4 * concurrency)]:
        r.get(timeout=300)
    submit_verification(app, files[: 4 * concurrency], chunk_size=1).get(timeout=300)

    local_jobs_s = local.jobs_s(jobs)
    t0 = time.perf_counter()
    results = [submit_generation(app, gen_job(k)) for k in range(jobs)]
    done = [r.get(timeout=600) for r in results]
    jobs_s = jobs / (time.perf_counter() - t0)
    assert all(len(d["images"]) == 1 for d in done), done

    single, single_local = [], []
    for k in range(singles):  # one at a time, alternately here and through the queue
        single_local.append(local.request(2000 + k))
        t0 = time.perf_counter()
        submit_generation(app, gen_job(1000 + k)).get(timeout=120)
        single.append(time.perf_counter() - t0)
    round_trips = []
    for _ in range(empties):
        t0 = time.perf_counter()
        empty_job(app).get(timeout=60)
        round_trips.append(time.perf_counter() - t0)

    local_files_s, local_verdicts = local.verify(files)
    t0 = time.perf_counter()
    summary = submit_verification(app, files, chunk_size=chunk).get(timeout=600)
    files_s = len(files) / (time.perf_counter() - t0)
    assert summary["verdicts"] == local_verdicts, (summary, local_verdicts)  # the same answers
    return {
        "jobs_s": (jobs_s, local_jobs_s),
        "files_s": (files_s, local_files_s),
        "round_trips": round_trips,
        "single": (single, single_local),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (a couple of minutes)")
    parser.add_argument("--jobs", type=int, default=None, help="generation jobs per configuration")
    parser.add_argument("--files", type=int, default=None, help="files in the verified archive")
    parser.add_argument("--chunk", type=int, default=None, help="files per verify job")
    parser.add_argument("--empties", type=int, default=None, help="empty jobs timed one at a time")
    args = parser.parse_args()
    jobs = args.jobs or (12 if args.quick else 40)
    files_n = args.files or (80 if args.quick else 400)
    chunk = args.chunk or (10 if args.quick else 25)
    empties = args.empties or (50 if args.quick else 200)
    singles = 6 if args.quick else 20
    for name, port in (("RabbitMQ", 5672), ("Redis", 6379), ("PostgreSQL", 5432)):
        if not reachable(port):
            raise SystemExit(f"{name} is not reachable at 127.0.0.1:{port}")

    import psycopg

    from hallmark.pipeline import GuardedPipeline, Verifier
    from hallmark.pipeline.worker import WorkerSettings, make_app

    schema = f"hm_bench_workers_{uuid.uuid4().hex[:10]}"
    prefix = f"hallmark-bench-{uuid.uuid4().hex[:8]}."
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "home"
        env = {
            **os.environ,
            "HALLMARK_HOME": str(home),
            "HALLMARK_AUDIT_URL": f"{PG_URL}?schema={schema}",
            "HALLMARK_BROKER_URL": BROKER_URL,
            "HALLMARK_RESULT_URL": RESULT_URL,
            "HALLMARK_QUEUE_PREFIX": prefix,
        }
        os.environ.update({k: env[k] for k in ("HALLMARK_HOME", "HALLMARK_AUDIT_URL")})
        app = make_app(WorkerSettings(broker_url=BROKER_URL, result_url=RESULT_URL, queue_prefix=prefix))
        rows: dict[int, dict[str, Any]] = {}
        try:
            hallmark("keys", "init", env=env)
            hallmark("audit", "checkpoint", env=env)
            with GuardedPipeline.from_pretrained("tiny", home=home) as pipe:
                files = make_archive(pipe, root, files=files_n)
                local = Local(pipe, Verifier.from_home(home), root / "local")
                for k in range(4):  # warm, as every pool process is
                    local.request(-1 - k)
                local.verify(files[:4])
                for concurrency in (1, 2):
                    log = root / f"worker{concurrency}.log"
                    worker = Worker(env, home, root / "out", log, concurrency)
                    loads.append(os.getloadavg()[0])
                    try:
                        rows[concurrency] = measure(
                            app, local, files, jobs=jobs, chunk=chunk, concurrency=concurrency,
                            singles=singles, empties=empties,
                        )  # fmt: skip
                    except Exception:
                        print(log.read_text()[-3000:], file=sys.stderr)
                        raise
                    finally:
                        worker.stop()
        finally:
            with app.connection_for_write() as conn:
                for name in ("generate", "verify"):
                    conn.default_channel.queue_delete(f"{prefix}{name}")
                    conn.default_channel.exchange_delete(f"{prefix}{name}")
            app.close()
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    print(
        f"# hallmark worker (RabbitMQ broker, Redis results, PostgreSQL audit log, loopback) beside "
        f"the same work in one process, measured just before; tiny model {SIZE} px {STEPS} steps; "
        f"{jobs} generation jobs, {len(files)} files in chunks of {chunk}; {os.cpu_count()} cores, "
        f"shared (load average {', '.join(f'{x:.1f}' for x in loads)} as each configuration started)"
    )
    print("| work | worker processes | through the queue | in one process (baseline) | ratio |")
    print("|---|---|---|---|---|")
    for label, key in (("generate, jobs/s", "jobs_s"), ("bulk verify, files/s", "files_s")):
        for c, row in rows.items():
            queued, base = row[key]
            print(f"| {label} | {c} | {queued:.2f} | {base:.2f} | x{queued / base:.2f} |")
    for c, row in rows.items():
        rt = row["round_trips"]
        single, single_local = (statistics.median(x) for x in row["single"])
        print(
            f"{c} worker process(es): empty job round trip p50 {1000 * pct(rt, 0.5):.1f} ms, "
            f"p99 {1000 * pct(rt, 0.99):.1f} ms ({len(rt)} jobs; target p50 at most 20 ms); "
            f"one generation job at a time: p50 {1000 * single:.0f} ms through the queue, "
            f"{1000 * single_local:.0f} ms in one process ({1000 * (single - single_local):+.0f} ms)"
        )


if __name__ == "__main__":
    main()
