"""Generation for ``POST /v1/generate``: in this server process, one request at a time, or on the
Celery workers when ``HALLMARK_BROKER_URL`` is set.

Either way a request is a ``GenerationJob`` of ``hallmark.pipeline.worker`` run by its
``run_generation`` (or queued with its ``submit_generation``): the same guarded pipeline, the same
exactly-once release by request id.  In-process, one thread per server process runs the jobs in
turn (one model in memory, one generation at a time) and the event loop only awaits its future;
at most ``queue`` requests wait, more get a 503 with Retry-After.  With a broker, a worker thread
waits on the job's result (up to ``timeout_s``) while the event loop goes on serving.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from anyio import to_thread

from ._errors import ApiError


class Generator:
    """Runs generation jobs for one server process (see the module docstring)."""

    def __init__(
        self,
        *,
        home: Path,
        model: str,
        policy: str,
        out_root: Path,
        queue: int = 4,
        timeout_s: float = 600.0,
        broker_url: str | None = None,
    ) -> None:
        self.home = home
        self.model = model
        self.policy = policy
        self.out_root = out_root
        self.queue = queue
        self.timeout_s = timeout_s
        self.broker_url = broker_url
        self._executor: ThreadPoolExecutor | None = None
        self._states: dict[str, Any] = {}  # policy name -> its worker ProcessState
        self._waiting = 0
        self._lock = threading.Lock()
        self._celery: Any = None

    @classmethod
    def from_environment(cls, **kwargs: Any) -> Generator:
        """With ``HALLMARK_BROKER_URL`` set, jobs go to the Celery workers."""
        return cls(broker_url=os.environ.get("HALLMARK_BROKER_URL") or None, **kwargs)

    @property
    def remote(self) -> bool:
        return self.broker_url is not None

    async def generate(self, job: Any) -> dict[str, Any]:
        """The result of ``job`` (a ``GenerationJob``) as ``run_generation`` returns it."""
        if self.remote:
            return await to_thread.run_sync(self._run_remote, job)
        with self._lock:
            if self._waiting >= self.queue:
                raise ApiError(
                    503,
                    "unavailable",
                    f"{self._waiting} generation requests are already waiting; retry later",
                    headers={"Retry-After": "30"},
                )
            self._waiting += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hallmark-generate")
            executor = self._executor
        try:
            return await asyncio.wrap_future(executor.submit(self._run_local, job))
        finally:
            with self._lock:
                self._waiting -= 1

    def _run_local(self, job: Any) -> dict[str, Any]:
        from ..worker import ProcessState, WorkerSettings, run_generation

        policy = job.policy or self.policy
        state = self._states.get(policy)
        if state is None:  # only this thread builds states: no lock needed for the dict's values
            settings = WorkerSettings(home=self.home, model=self.model, policy=policy, out_root=self.out_root)
            state = self._states[policy] = ProcessState(settings)
        return run_generation(job.to_message(), state)

    def _run_remote(self, job: Any) -> dict[str, Any]:
        from ..worker import make_app, submit_generation

        with self._lock:
            if self._celery is None:
                self._celery = make_app()
            app = self._celery
        result = submit_generation(app, job)
        try:
            answer: dict[str, Any] = result.get(timeout=self.timeout_s, propagate=False)
        except Exception as e:  # celery's TimeoutError, or the broker went away
            raise ApiError(
                503,
                "unavailable",
                f"generation job {job.request_id} did not finish in {self.timeout_s:g} s "
                f"({type(e).__name__}); it stays queued",
                headers={"Retry-After": "30"},
            ) from e
        if result.failed():
            raise ApiError(
                503,
                "unavailable",
                f"generation job {job.request_id} failed: {type(answer).__name__}: {answer}",
            )
        return answer

    def close(self) -> None:
        """Stop the generation thread (after the job it runs) and unload the pipelines."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        for state in self._states.values():
            state.close()
        self._states.clear()
