"""`hallmark worker`, `generate --remote`, `verify --remote` and `jobs` through the real CLI, with
one real worker on RabbitMQ, Redis and a PostgreSQL audit log (skipped when one is unreachable)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import hallmark

HALLMARK = str(Path(sys.executable).with_name("hallmark"))
PG_URL = os.environ.get("HALLMARK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HALLMARK, *args], env=env, capture_output=True, text=True, timeout=300)


def test_a_worker_refuses_a_sqlite_log_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "HALLMARK_HOME": str(tmp_path / "home")}
    env.pop("HALLMARK_AUDIT_URL", None)
    result = run("worker", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: a worker needs a shared PostgreSQL audit log, not SQLite; set "
        "HALLMARK_AUDIT_URL=postgresql://HOST/DB (On one machine only, pass --allow-sqlite.)"
    ]
    assert not (tmp_path / "home").exists()  # refused before anything was written


def test_a_worker_without_the_shared_key_refuses_to_start(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HALLMARK_HOME": str(tmp_path / "home"),
        "HALLMARK_AUDIT_URL": "postgresql://db.invalid/x",
    }
    result = run("worker", "--queues", "generate", env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "no audit checkpoint key at" in result.stderr


def test_an_unknown_queue_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "HALLMARK_HOME": str(tmp_path / "home")}
    result = run("worker", "--queues", "generate,render", "--allow-sqlite", env=env)
    assert result.returncode == 2 and "unknown queue 'render'; known: generate, verify" in result.stderr


@pytest.fixture
def worker_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A home with the shared keys, a fresh PostgreSQL log and one running worker."""
    for port in (5672, 6379, 5432):
        if not _reachable(port):
            pytest.skip(f"no service at 127.0.0.1:{port}")
    import psycopg

    schema = f"hm_cli_worker_{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "HALLMARK_HOME": str(tmp_path / "home"),
        "HALLMARK_AUDIT_URL": f"{PG_URL}?schema={schema}",
        "HALLMARK_QUEUE_PREFIX": f"hallmark-test-{uuid.uuid4().hex[:8]}.",
        "OMP_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    for setup in (["keys", "init"], ["audit", "checkpoint"]):
        assert run(*setup, env=env).returncode == 0
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [HALLMARK, "worker", "--out", str(tmp_path / "out")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield env
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        _drop_queues(env["HALLMARK_QUEUE_PREFIX"])


def _drop_queues(prefix: str) -> None:
    """Delete a test's queues and exchanges from the shared broker."""
    from hallmark.pipeline.worker import WorkerSettings, make_app

    app = make_app(WorkerSettings(queue_prefix=prefix))
    with app.connection_for_write() as conn:
        for name in ("generate", "verify"):
            conn.default_channel.queue_delete(f"{prefix}{name}")
            conn.default_channel.exchange_delete(f"{prefix}{name}")
    app.close()


def test_remote_generate_verify_and_jobs(worker_env: dict[str, str], tmp_path: Path) -> None:
    gen = run(
        "generate",
        "--remote",
        "a lighthouse",
        "-n",
        "2",
        "--size",
        "256",
        "--out",
        "a",
        "--json",
        env=worker_env,
    )
    assert gen.returncode == 0, gen.stderr
    doc = json.loads(gen.stdout)
    schema = json.loads(hallmark.schema_path(doc["schema"]).read_text(encoding="utf-8"))
    assert not list(Draft202012Validator(schema).iter_errors(doc))
    assert doc["state"] == "SUCCESS" and len(doc["result"]["images"]) == 2
    assert "a lighthouse" not in gen.stdout  # the prompt never comes back through the result store
    paths = [Path(i["path"]) for i in doc["result"]["images"]]
    assert all(p.parent == (tmp_path / "out" / "a").resolve() and p.is_file() for p in paths)

    shown = run("jobs", "show", doc["id"], "--json", env=worker_env)
    assert shown.returncode == 0 and json.loads(shown.stdout)["result"] == doc["result"]

    table = run("verify", "--remote", str(tmp_path / "out"), "--chunk", "1", env=worker_env)
    assert table.returncode == 0, table.stderr
    assert "2 files, 2 passed" in table.stdout and "hallmark-signed" in table.stdout
    lines = run("verify", "--remote", str(tmp_path / "out"), "--json", env=worker_env)
    reports = [json.loads(line) for line in lines.stdout.splitlines()]
    assert sorted(r["source"] for r in reports) == sorted(str(p) for p in paths)
    assert {r["verdict"] for r in reports} == {"hallmark-signed"}
    # A URL goes to the workers with the paths; this worker's network use is off, so it is
    # reported on its own line and the files are verified (exit 2: something could not be checked).
    url = "http://127.0.0.1:1/found.png"
    mixed = run("verify", "--remote", str(tmp_path / "out"), url, "--json", env=worker_env)
    assert mixed.returncode == 2, mixed.stderr
    by_source = {r["source"]: r for r in map(json.loads, mixed.stdout.splitlines())}
    assert by_source[url]["verdict"] == "error" and "start it with --allow-network" in by_source[url]["error"]
    assert {by_source[str(p)]["verdict"] for p in paths} == {"hallmark-signed"}
    assert f"error: {url}: not fetched" in mixed.stderr

    listed = run("jobs", "list", "--json", env=worker_env)
    assert listed.returncode == 0 and listed.stdout == "", listed.stderr  # nothing left running
    table = run("jobs", "list", env=worker_env)
    assert "0 jobs on workers; waiting in the queues: 0 generate, 0 verify" in table.stdout, table.stdout

    blocked = run("generate", "--remote", "a lighthouse", "--policy", "strict", env=worker_env)
    assert blocked.returncode == 2 and "this worker serves policy 'default', not 'strict'" in blocked.stderr

    assert run("audit", "verify", env=worker_env).returncode == 0


def test_jobs_list_counts_what_waits_and_cancel_keeps_a_job_from_running(tmp_path: Path) -> None:
    for port in (5672, 6379):
        if not _reachable(port):
            pytest.skip(f"no service at 127.0.0.1:{port}")
    from hallmark.pipeline import new_record_id
    from hallmark.pipeline.worker import GenerationJob, WorkerSettings, make_app, submit_generation

    prefix = f"hallmark-test-{uuid.uuid4().hex[:8]}."
    env = {**os.environ, "HALLMARK_QUEUE_PREFIX": prefix}
    app = make_app(WorkerSettings(queue_prefix=prefix))  # no worker serves these queues
    job = GenerationJob(request_id=str(new_record_id()), prompt="a lighthouse")
    try:
        submit_generation(app, job)
        listed = run("jobs", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        assert "waiting in the queues: 1 generate, 0 verify" in listed.stdout, listed.stdout
        cancelled = run("jobs", "cancel", job.request_id, env=env)
        assert cancelled.returncode == 0 and f"cancelled {job.request_id}" in cancelled.stdout
        shown = run("jobs", "show", job.request_id, "--json", env=env)
        assert json.loads(shown.stdout)["state"] == "REVOKED"
        # A worker started after the cancel drops the job instead of running it.
        home = tmp_path / "home"
        with open(tmp_path / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                [HALLMARK, "worker", "--queues", "generate", "--allow-sqlite", "--home", str(home)],
                env={**env, "HALLMARK_AUDIT_URL": f"sqlite:///{tmp_path / 'audit.db'}"},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 120
            while f"{job.request_id}] ignored" not in (tmp_path / "worker.log").read_text():
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
                time.sleep(1)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        assert json.loads(run("jobs", "show", job.request_id, "--json", env=env).stdout)["state"] == "REVOKED"
    finally:
        app.close()
        _drop_queues(prefix)


def test_a_url_is_verified_only_remotely(tmp_path: Path) -> None:
    env = {**os.environ, "HALLMARK_HOME": str(tmp_path / "home")}
    result = run("verify", "https://example.com/found.png", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: https://example.com/found.png is a URL: URLs are fetched and verified by workers "
        "(hallmark verify --remote) (Download it and verify the file, or start workers with "
        "--allow-network and use --remote.)"
    ]
