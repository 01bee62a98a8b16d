"""``POST /v1/generate`` on a server with ``HALLMARK_BROKER_URL``: the job goes to a real
``hallmark worker`` (RabbitMQ, Redis, a PostgreSQL audit log on 127.0.0.1) and its images come
back through the server by record id.  Skipped when a service is not reachable."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import REPO, hallmark_cli, hallmark_env

PG_URL = os.environ.get("HALLMARK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BROKER = "amqp://guest:guest@127.0.0.1:5672//"


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A home with keys, a fresh PostgreSQL log, a token and one running worker."""
    for port in (5672, 6379, 5432):
        if not reachable(port):
            pytest.skip(f"no service at 127.0.0.1:{port}")
    import psycopg

    schema = f"hm_serve_remote_{uuid.uuid4().hex[:12]}"
    home = tmp_path / "home"
    extra = {
        "HALLMARK_AUDIT_URL": f"{PG_URL}?schema={schema}",
        "HALLMARK_BROKER_URL": BROKER,
        "HALLMARK_RESULT_URL": "redis://127.0.0.1:6379/0",
        "HALLMARK_QUEUE_PREFIX": f"hallmark-serve-test-{uuid.uuid4().hex[:8]}.",
    }
    for setup in (["keys", "init"], ["audit", "checkpoint"]):
        assert hallmark_cli(*setup, home=home, extra_env=extra).returncode == 0
    made = hallmark_cli("tokens", "create", "remote", "--json", home=home)
    token = json.loads(made.stdout)["token"]
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "hallmark", "worker", "--out", str(tmp_path / "out")],
            env={**hallmark_env(home), **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=REPO,
        )
    try:
        yield {"home": home, "env": extra, "token": token, "out": tmp_path / "out"}
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        from hallmark.pipeline.worker import WorkerSettings, make_app

        app = make_app(WorkerSettings(queue_prefix=extra["HALLMARK_QUEUE_PREFIX"]))
        with app.connection_for_write() as conn:
            for name in ("generate", "verify"):
                conn.default_channel.queue_delete(f"{extra['HALLMARK_QUEUE_PREFIX']}{name}")
                conn.default_channel.exchange_delete(f"{extra['HALLMARK_QUEUE_PREFIX']}{name}")
        app.close()


def test_generate_is_queued_on_the_workers_when_a_broker_is_configured(
    remote: dict[str, Any],
    start_server: Callable[..., Any],
    tmp_path: Path,
    validate: Callable[[dict[str, Any]], str],
) -> None:
    with start_server(remote["home"], [], tmp_path / "server.log", extra_env=remote["env"]) as url:
        headers = {"Authorization": f"Bearer {remote['token']}"}
        response = httpx.post(
            f"{url}/v1/generate",
            json={"prompt": "a lighthouse", "size": 256, "n": 1},
            headers=headers,
            timeout=300,
        )
        assert response.status_code == 200, response.text
        doc = response.json()
        assert validate(doc) == "generate-response"
        assert doc["worker"] and not doc["worker"].endswith(f":{os.getpid()}")
        (image,) = doc["images"]
        # The worker wrote it under its own output root; the server serves it by record id.
        assert any(p.is_file() for p in remote["out"].rglob(f"{image['record_id']}.*"))
        got = httpx.get(url + image["url"], headers=headers, timeout=30)
        assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == image["sha256"]
        refused = httpx.post(
            f"{url}/v1/generate",
            json={"prompt": "a lighthouse", "policy": "strict"},
            headers=headers,
            timeout=300,
        )
        assert (
            refused.status_code == 503
            and "serves policy 'default', not 'strict'" in refused.json()["error"]["message"]
        )
