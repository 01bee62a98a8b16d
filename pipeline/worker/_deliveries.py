"""Poison jobs: a limit on how often one job is delivered.

Jobs are acknowledged late and put back when the process running them dies, so a job that kills
its worker every time (a request that runs it out of memory, a file that crashes a decoder) would
be handed from worker to worker for ever.  Every delivery of a job is counted, under its id, in
the result store that every worker shares (an atomic ``INCR``: two workers never read the same
count); the delivery after the last one allowed is not run: a generation job fails with the
reason, and a verification chunk reports each of its files as not checked.  A job that fails with
an error is acknowledged at once and never redelivered, so only deaths are counted in practice.
"""

from __future__ import annotations

from typing import Any

from hallmark.errors import PipelineError

# A job killed this often is more likely to kill its worker than to be unlucky: restarts, deploys
# and preempted machines rarely hit the same job five times.
DEFAULT_MAX_DELIVERIES = 5


def _key(job_id: str) -> str:
    return f"hallmark-deliveries-{job_id}"


def count_delivery(backend: Any, job_id: str, *, expires: int) -> int | None:
    """Count one more delivery of ``job_id``; returns how many there have been (None when the
    result store keeps no counters: a Redis result store does)."""
    try:
        n = int(backend.incr(_key(job_id)))
    except (AttributeError, NotImplementedError):
        return None
    if n == 1:
        backend.expire(_key(job_id), expires)
    return n


def deliveries(backend: Any, job_id: str) -> int | None:
    """How many times ``job_id`` was delivered to a worker so far (None: not counted)."""
    try:
        value = backend.get(_key(job_id))
    except (AttributeError, NotImplementedError):
        return None
    return int(value) if value is not None else None


def poison_reason(job_id: str, delivered: int, limit: int) -> str:
    """Why a job is not run again: it was delivered ``limit`` times and never finished."""
    return (
        f"job {job_id} given up at its delivery {delivered}: the worker running it died (killed, out "
        f"of memory or crashed) or lost the broker during each of the {limit} before; a poison job is "
        "not run again"
    )


class PoisonJobError(PipelineError):
    """A job whose worker died during each of its allowed deliveries; it is not run again."""

    default_hint = (
        "Look in the workers' logs for what killed them; submit the request again with a new "
        "request id once that is fixed, or raise HALLMARK_MAX_DELIVERIES."
    )


def on_prerun(task: Any) -> None:
    """Count a delivery of ``task``'s job as soon as its worker process takes it (Celery's
    ``task_prerun``, before the job is marked started): a job that kills its process at once is
    counted too."""
    task.request.hallmark_delivery = count_delivery(
        task.app.backend, task.request.id, expires=int(task.app.conf.result_expires)
    )


def check_delivery(task: Any, *, limit: int) -> int | None:
    """This delivery's number (counted by ``on_prerun``, or here); raises ``PoisonJobError`` when
    it is past ``limit``.  A job whose result is already stored (it finished, then lost its broker
    connection before the broker heard so) is never given up: it runs again and returns what it
    released."""
    n = getattr(task.request, "hallmark_delivery", None)
    if n is None:
        n = count_delivery(task.app.backend, task.request.id, expires=int(task.app.conf.result_expires))
    if n is not None and n > limit and task.AsyncResult(task.request.id).state != "SUCCESS":
        raise PoisonJobError(poison_reason(task.request.id, n, limit))
    return n
