"""URLs in a bulk verification: fetched only by a worker whose network use is allowed, over
HTTP(S) only, within its size and time limits; a URL that cannot be fetched is reported on its
own line and the others are verified."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from hallmark.pipeline import GuardedPipeline
from hallmark.pipeline.worker import ProcessState, WorkerSettings, run_verification, summarize
from hallmark.provenance import init_keys


def render(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
    rng = np.random.default_rng(7)
    return [Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)) for _ in range(n)]


class Site:
    """A loopback web server: /signed.png, /big.png (over the limit), /slow.png (slower than the
    limit), /ftp (a redirect to FTP), anything else 404; it counts the requests it got."""

    def __init__(self, signed: bytes) -> None:
        self.requests: list[str] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                site.requests.append(self.path)
                if self.path == "/signed.png":
                    self._send(signed)
                elif self.path == "/big.png":
                    self._send(b"\x89PNG" + bytes(len(signed) + 1000), length=False)
                elif self.path == "/slow.png":
                    self.send_response(200)
                    self.end_headers()
                    for _ in range(40):  # a byte every 0.1 s: never idle long, never done in time
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.1)
                elif self.path == "/ftp":
                    self.send_response(302)
                    self.send_header("Location", "ftp://127.0.0.1/signed.png")
                    self.end_headers()
                else:
                    self.send_error(404)

            def _send(self, body: bytes, *, length: bool = True) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                if length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    init_keys(home / "keys")
    monkeypatch.delenv("HALLMARK_AUDIT_URL", raising=False)
    with GuardedPipeline(render, home=home) as pipe:
        return Path(pipe("a lighthouse", n=1, size=256, out_dir=tmp_path / "out").images[0].path)


@pytest.fixture
def site(signed: Path) -> Iterator[Site]:
    s = Site(signed.read_bytes())
    yield s
    s.close()


def test_urls_are_fetched_within_limits_and_a_bad_one_is_reported_on_its_line(
    tmp_path: Path, signed: Path, site: Site
) -> None:
    limit = signed.stat().st_size + 10
    settings = WorkerSettings(
        home=tmp_path / "home", allow_network=True, fetch_max_bytes=limit, fetch_timeout=1.5
    )
    items = [
        f"{site.url}/signed.png",
        f"{site.url}/gone.png",
        f"{site.url}/big.png",
        f"{site.url}/slow.png",
        f"{site.url}/ftp",
        "http://127.0.0.1:1/refused.png",
        str(tmp_path / "no-such-file.png"),
        str(signed),
    ]
    started = time.monotonic()
    reports = run_verification(items, ProcessState(settings))
    assert time.monotonic() - started < 10  # the slow URL was cut at its limit
    assert [r["source"] for r in reports] == items  # every item on its own line, in order
    verdicts = [r["verdict"] for r in reports]
    assert verdicts == [
        "hallmark-signed",
        "error",
        "error",
        "error",
        "error",
        "error",
        "error",
        "hallmark-signed",
    ]
    errors = [r["error"] for r in reports[1:7]]
    assert errors[0] == f"cannot fetch {site.url}/gone.png: HTTP 404 Not Found"
    assert errors[1] == f"not fetched: {site.url}/big.png is over the {limit}-byte limit"
    assert errors[2] == f"not fetched: {site.url}/slow.png took longer than 1.5 s"
    assert errors[3].startswith(f"cannot fetch {site.url}/ftp: HTTP 302")
    assert errors[4].startswith("cannot fetch http://127.0.0.1:1/refused.png: ")
    assert errors[5] == f"no such file: {tmp_path / 'no-such-file.png'}"
    assert summarize([reports]) == {"files": 8, "passed": 2, "verdicts": {"error": 6, "hallmark-signed": 2}}


def test_a_worker_without_network_use_fetches_nothing(tmp_path: Path, signed: Path, site: Site) -> None:
    settings = WorkerSettings(home=tmp_path / "home")
    (report,) = run_verification([f"{site.url}/signed.png"], ProcessState(settings))
    assert report["verdict"] == "error" and report["source"] == f"{site.url}/signed.png"
    assert "network use is off (start it with --allow-network)" in report["error"]
    assert site.requests == []


def test_a_declared_length_over_the_limit_is_not_downloaded(tmp_path: Path, signed: Path, site: Site) -> None:
    settings = WorkerSettings(home=tmp_path / "home", allow_network=True, fetch_max_bytes=100)
    (report,) = run_verification([f"{site.url}/signed.png"], ProcessState(settings))
    size = signed.stat().st_size
    assert report["error"] == f"not fetched: {site.url}/signed.png is {size} bytes, over the 100-byte limit"


def test_a_worker_started_with_allow_network_fetches_urls_of_a_queued_verification(
    tmp_path: Path, signed: Path, site: Site, services: None, drop_queues: Any
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import uuid

    from hallmark.pipeline.worker import make_app, submit_verification

    broker = os.environ.get("HALLMARK_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    results = os.environ.get("HALLMARK_TEST_RESULT_URL", "redis://127.0.0.1:6379/0")
    prefix = f"hallmark-test-{uuid.uuid4().hex[:8]}."
    env = {
        **os.environ,
        "HALLMARK_BROKER_URL": broker,
        "HALLMARK_RESULT_URL": results,
        "HALLMARK_QUEUE_PREFIX": prefix,
        "OMP_NUM_THREADS": "1",
    }
    hallmark = str(Path(sys.executable).with_name("hallmark"))
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [hallmark, "worker", "--queues", "verify", "--allow-sqlite", "--allow-network",
             "--home", str(tmp_path / "home")],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    app = make_app(WorkerSettings(broker_url=broker, result_url=results, queue_prefix=prefix))
    try:
        items = [f"{site.url}/signed.png", f"{site.url}/gone.png", str(signed)]
        summary = submit_verification(app, items, chunk_size=2)
        counts = summary.get(timeout=240)
        reports = [r for chunk in summary.parent.results for r in chunk.get(timeout=10)]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        drop_queues(app, prefix)
        app.close()
    assert [r["source"] for r in reports] == items
    assert [r["verdict"] for r in reports] == ["hallmark-signed", "error", "hallmark-signed"]
    assert reports[1]["error"] == f"cannot fetch {site.url}/gone.png: HTTP 404 Not Found"
    assert counts == {"files": 3, "passed": 2, "verdicts": {"hallmark-signed": 2, "error": 1}}
    assert site.requests == ["/signed.png", "/gone.png"]
