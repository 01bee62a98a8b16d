"""Many machines: guarded generation and bulk verification as Celery jobs.

``hallmark worker`` runs ``run_worker``: its pool processes each hold one loaded
``GuardedPipeline`` and one ``Verifier``.  Clients queue jobs with ``submit_generation`` (a
``GenerationJob`` named by its request id, released exactly once however often it runs) and
``submit_verification`` (files and URLs verified in chunks, then a verdict summary).  A job whose
worker dies during each of its allowed deliveries is given up (``PoisonJobError``).  The broker
and the result store come from ``HALLMARK_BROKER_URL`` and ``HALLMARK_RESULT_URL``; every worker
reads its keys from its own ``HALLMARK_HOME`` and writes to the audit log of ``HALLMARK_AUDIT_URL``.
Celery comes with the ``worker`` extra and is imported only when an app is made.
"""

from ._app import (
    GENERATE,
    SUMMARIZE,
    VERIFY_CHUNK,
    cancel_job,
    job_status,
    list_jobs,
    make_app,
    run_worker,
    submit_generation,
    submit_verification,
)
from ._deliveries import DEFAULT_MAX_DELIVERIES, PoisonJobError
from ._jobs import GenerationJob, ProcessState, process_state, run_generation, run_verification, summarize
from ._settings import (
    DEFAULT_BROKER_URL,
    DEFAULT_RESULT_URL,
    INSTALL_HINT,
    QUEUES,
    WorkerSettings,
    check_audit_url,
    check_worker_keys,
    output_folder,
    require_celery,
)

__all__ = [
    "DEFAULT_BROKER_URL",
    "DEFAULT_MAX_DELIVERIES",
    "DEFAULT_RESULT_URL",
    "GENERATE",
    "INSTALL_HINT",
    "QUEUES",
    "SUMMARIZE",
    "VERIFY_CHUNK",
    "GenerationJob",
    "PoisonJobError",
    "ProcessState",
    "WorkerSettings",
    "cancel_job",
    "check_audit_url",
    "check_worker_keys",
    "job_status",
    "list_jobs",
    "make_app",
    "output_folder",
    "process_state",
    "require_celery",
    "run_generation",
    "run_verification",
    "run_worker",
    "submit_generation",
    "submit_verification",
    "summarize",
]
