"""Verification in worker processes, each upload under a time limit.

An upload is untrusted: a file that makes a decoder spin or crash must cost the server one
worker process, not a thread it can never get back or the whole server.  Each worker is a
spawned process (the server's threads and sockets are not forked into it) that builds its own
``Verifier`` from the settings and answers one upload at a time; a worker that takes longer than
the limit is killed and replaced, and the upload gets an error report saying why.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._reports import build_verifier, error_html, error_json, report_html, report_json
from ._settings import ENVIRONMENT_VARIABLE, ServeSettings

# How long a new worker may take to import the verifier and load the home's keys.
START_TIMEOUT_S = 120.0


def _worker_main(conn: Any, settings_json: str) -> None:
    from hallmark.errors import HallmarkError

    verifier = build_verifier(ServeSettings.from_environment({ENVIRONMENT_VARIABLE: settings_json}))
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the server went away
            return
        if task is None:
            return
        data, label, as_html = task
        started = time.monotonic()
        report: Callable[..., tuple[Any, bool]] = report_html if as_html else report_json
        error: Callable[..., Any] = error_html if as_html else error_json
        answer: tuple[Any, bool]
        try:
            answer = report(verifier, data, label=label)
        except HallmarkError as e:  # as verify_batch does: one file's failure is that file's report
            answer = error(label, str(e), seconds=time.monotonic() - started), False
        except Exception as e:
            reason = f"internal error {type(e).__name__}: {' '.join(str(e).split())[:200]}"
            answer = error(label, reason, seconds=time.monotonic() - started), False
        conn.send(answer)


@dataclass
class _Worker:
    process: Any
    conn: Any
    ready: bool = False


class VerifyPool:
    """``size`` worker processes; ``verify(data, label=...)`` blocks until one is free, then for
    at most ``timeout_s`` seconds.  Thread-safe: the endpoints call it from worker threads."""

    def __init__(self, settings: ServeSettings, *, size: int, timeout_s: float) -> None:
        import multiprocessing

        self._mp = multiprocessing.get_context("spawn")
        self._settings_json = settings.to_environment()
        self.size = size
        self.timeout_s = timeout_s
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(size):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        parent, child = self._mp.Pipe()
        process = self._mp.Process(
            target=_worker_main, args=(child, self._settings_json), daemon=True, name="hallmark-verify"
        )
        process.start()
        child.close()  # so that the parent reads EOF when the child dies
        worker = _Worker(process, parent)
        with self._lock:
            self._all.append(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        with self._lock:
            self._all.remove(worker)
            if self._closed:
                return
        self._idle.put(self._spawn())

    def verify(self, data: bytes, *, label: str, as_html: bool = False) -> tuple[Any, bool]:
        """The verify-report JSON (``as_html``: the HTML report) of one upload and whether it
        could be checked (see ``Service.verify``); an error report when it took too long or
        crashed its worker."""
        worker = self._idle.get()
        started = time.monotonic()
        try:
            if not worker.ready:  # its imports and key loading do not count against the file
                if not worker.conn.poll(START_TIMEOUT_S) or worker.conn.recv() != "ready":
                    raise OSError("the verifier process did not start")
                worker.ready = True
            started = time.monotonic()
            worker.conn.send((data, label, as_html))
            if worker.conn.poll(self.timeout_s):
                answer: tuple[Any, bool] = worker.conn.recv()
                self._idle.put(worker)
                return answer
            reason = f"verification took longer than the {self.timeout_s:g} s limit"
        except (EOFError, OSError):
            reason = "the verifier process crashed on this file"
        self._replace(worker)
        error = error_html if as_html else error_json
        return error(label, reason, seconds=time.monotonic() - started), False

    def close(self) -> None:
        """Stop every worker (those busy are killed)."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
        for worker in workers:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        for worker in workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=2)
            worker.conn.close()
