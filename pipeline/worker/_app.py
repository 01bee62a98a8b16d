"""The Celery app: generation and bulk verification as jobs on a broker (RabbitMQ or Redis),
their results in a result store (Redis).

Jobs are acknowledged only once they are done and put back when the process running them dies
(``task_acks_late``, ``task_reject_on_worker_lost``), and a worker process takes one job at a
time (prefetch 1), so a killed worker loses nothing: its job runs again elsewhere, and the request
id makes the second run return what the first already released.  A job whose worker dies every
time is given up after a few deliveries (``_deliveries``).  Celery is imported only here, and only
when an app is made.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

from ._deliveries import PoisonJobError, check_delivery, deliveries, on_prerun
from ._jobs import GenerationJob, not_verified, process_state, run_generation, run_verification, summarize
from ._settings import QUEUES, WorkerSettings, require_celery

GENERATE = "hallmark.generate"
VERIFY_CHUNK = "hallmark.verify_chunk"
SUMMARIZE = "hallmark.verify_summary"
# What logs and monitoring show of a job's arguments instead of the prompt.
_REDACTED = "(<job arguments withheld>)"

log = logging.getLogger("hallmark.worker")


def make_app(settings: WorkerSettings | None = None) -> Any:
    """A Celery app for ``settings`` (default: from the environment) with hallmark's three tasks."""
    require_celery()
    from celery import Celery

    settings = settings or WorkerSettings.from_env()
    app = Celery("hallmark", broker=settings.broker_url, backend=settings.result_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A job that fails with an error is acknowledged, never put back: only a job whose worker
        # died is delivered again, and that only up to the delivery limit (``_deliveries``).
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_track_started=True,
        result_extended=False,  # the result store keeps results, never a job's arguments
        result_expires=7 * 24 * 3600,
        task_routes={
            GENERATE: {"queue": settings.queue("generate")},
            VERIFY_CHUNK: {"queue": settings.queue("verify")},
            SUMMARIZE: {"queue": settings.queue("verify")},
        },
        task_default_queue=settings.queue("generate"),
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        # Loading the model when a pool process starts takes longer than Celery's 4 s default.
        worker_proc_alive_timeout=300,
        worker_hijack_root_logger=False,
    )

    from celery.signals import task_prerun

    task_prerun.connect(_prerun, weak=False, dispatch_uid="hallmark-count-deliveries")
    # The same module-level callables for every app: Celery keeps one callable per task name.
    app.task(name=GENERATE, bind=True)(_generate)
    app.task(name=VERIFY_CHUNK, bind=True)(_verify_chunk)
    app.task(name=SUMMARIZE)(_verify_summary)
    return app


def _prerun(task: Any = None, **_: Any) -> None:
    if task is not None and task.name in (GENERATE, VERIFY_CHUNK):
        on_prerun(task)


def _generate(task: Any, message: dict[str, Any]) -> dict[str, Any]:
    _unless_cancelled(task)
    state = process_state()
    check_delivery(task, limit=state.settings.max_deliveries)  # a poison job fails here, unrun
    return run_generation(message, state)


def _verify_chunk(task: Any, items: list[str]) -> list[dict[str, Any]]:
    state = process_state()
    limit = state.settings.max_deliveries
    try:
        check_delivery(task, limit=limit)
    except PoisonJobError:  # the rest of the bulk verification goes on without this chunk
        reason = (
            f"not verified: the worker verifying this file's chunk of {len(items)} died during each "
            f"of its {limit} deliveries (one of its files may crash or exhaust the verifier)"
        )
        return not_verified(items, reason)
    return run_verification(items, state)


def _verify_summary(chunks: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return summarize(chunks)


def run_worker(
    settings: WorkerSettings,
    *,
    queues: Sequence[str] = QUEUES,
    concurrency: int = 1,
    loglevel: str = "INFO",
) -> None:
    """Run a Celery worker in this process until it is stopped: ``concurrency`` pool processes,
    each loading its ``GuardedPipeline`` (for ``generate``) and ``Verifier`` (for ``verify``) once,
    when it starts."""
    from celery.signals import worker_process_init

    os.environ.update(settings.to_env())  # the pool processes read the same settings
    app = make_app(settings)

    def load(**_: Any) -> None:
        state = process_state(settings)
        try:
            if "generate" in queues:
                state.pipeline  # noqa: B018 - loads the model once, before the first job
            if "verify" in queues:
                state.verifier  # noqa: B018
        except Exception as e:  # the jobs report it; the pool process must not die and respawn
            from hallmark.errors import describe_error

            log.error("hallmark: loading failed in pool process %s: %s", os.getpid(), describe_error(e))

    worker_process_init.connect(load, weak=False)
    app.worker_main(
        [
            "worker",
            f"--queues={','.join(settings.queue(q) for q in queues)}",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            f"--hostname=hallmark{os.getpid()}@{socket.gethostname()}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def submit_generation(app: Any, job: GenerationJob) -> Any:
    """Queue ``job``; its Celery task id is its request id.  Returns the ``AsyncResult``."""
    return app.send_task(GENERATE, args=[job.to_message()], task_id=job.request_id, argsrepr=_REDACTED)


def submit_verification(app: Any, paths: Sequence[str], *, chunk_size: int = 50) -> Any:
    """Verify ``paths`` (as the workers see them) in chunks fanned out over the workers, then
    summarize the verdicts (a Celery chord).  Returns the summary's ``AsyncResult``; its
    ``parent`` is the group of chunks, whose results are the per-file reports."""
    from celery import chord

    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    chunks = [list(paths[i : i + chunk_size]) for i in range(0, len(paths), chunk_size)]
    header = [app.signature(VERIFY_CHUNK, args=[c]) for c in chunks]
    return chord(header, app=app)(app.signature(SUMMARIZE))


def job_status(app: Any, job_id: str) -> dict[str, Any]:
    """A job's state (PENDING, STARTED, SUCCESS, FAILURE, RETRY, REVOKED) and, when finished,
    its result or its error (type and message, never the prompt); ``deliveries``: how many times
    a worker took it, when that was more than once (it was put back after its worker died)."""
    result = app.AsyncResult(job_id)
    out: dict[str, Any] = {"id": job_id, "state": result.state}
    if result.state == "SUCCESS":
        out["result"] = result.result
    elif result.state == "FAILURE":
        out["error"] = f"{type(result.result).__name__}: {result.result}"
    delivered = deliveries(app.backend, job_id)
    if delivered is not None and delivered > 1:
        out["deliveries"] = delivered
    return out


def list_jobs(app: Any, settings: WorkerSettings | None = None, *, timeout: float = 2.0) -> dict[str, Any]:
    """The jobs the workers that answer within ``timeout`` are running (``STARTED``) or hold
    (``RECEIVED``), and how many wait in each queue.  A job is shown by its id, task and worker;
    its arguments (the prompt) are not asked for."""
    settings = settings or WorkerSettings.from_env()
    inspect = app.control.inspect(timeout=timeout)
    jobs: list[dict[str, Any]] = []
    for state, answer in (("STARTED", inspect.active()), ("RECEIVED", inspect.reserved())):
        for worker, tasks in sorted((answer or {}).items()):
            jobs.extend({"id": t["id"], "state": state, "task": t["name"], "worker": worker} for t in tasks)
    waiting: dict[str, int] = {}
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        for name in QUEUES:
            try:
                waiting[name] = channel.queue_declare(settings.queue(name), passive=True).message_count
            except Exception:  # a queue no worker or client declared yet holds nothing
                waiting[name] = 0
                channel = conn.channel()
    return {"jobs": jobs, "waiting": waiting}


def _cancel_key(job_id: str) -> str:
    return f"hallmark-cancelled-{job_id}"


def _unless_cancelled(task: Any) -> None:
    """Drop a job that was cancelled while it waited, even on a worker started after the cancel
    (Celery's own revoke reaches only the workers running at the time)."""
    get = getattr(task.app.backend, "get", None)  # a key-value result store (Redis) keeps cancels
    if get is None or get(_cancel_key(task.request.id)) is None:
        return
    from celery.exceptions import Ignore

    task.app.backend.mark_as_revoked(task.request.id, reason="cancelled")
    raise Ignore()


def cancel_job(app: Any, job_id: str) -> None:
    """Cancel a generation job that has not started, whether or not a worker runs now; one
    already running finishes (a request is never cut half-way through its releases)."""
    if hasattr(app.backend, "set"):  # else only the workers running now learn of it
        app.backend.set(_cancel_key(job_id), b"1")
    app.control.revoke(job_id)
    app.backend.mark_as_revoked(job_id, reason="cancelled")
