"""Where a worker's broker, result store, audit log and output folder are: from the environment.

Keys never travel through the broker: each worker reads them from its own ``HALLMARK_HOME``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hallmark.errors import InputError

from ._deliveries import DEFAULT_MAX_DELIVERIES

DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_RESULT_URL = "redis://127.0.0.1:6379/0"
QUEUES = ("generate", "verify")
INSTALL_HINT = "pip install 'hallmark-genai[worker]'"


def require_celery() -> None:
    """Refuse, in one line, a worker or remote job on an install without the ``worker`` extra."""
    import importlib.util

    if importlib.util.find_spec("celery") is None:
        raise InputError(
            "hallmark worker and --remote need Celery, which is not installed",
            hint=f"Install it with `{INSTALL_HINT}`.",
        )


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker process needs besides its keys: the broker and result store, the home, the
    audit log, the model and policy it loads once, and the folder its images go under."""

    broker_url: str = DEFAULT_BROKER_URL
    result_url: str = DEFAULT_RESULT_URL
    home: Path | None = None
    model: str = "tiny"
    policy: str = "default"
    out_root: Path = Path(".")
    # Prefixed to the queue names on the broker, so that several deployments (or test runs) can
    # share one broker without taking each other's jobs.
    queue_prefix: str = "hallmark."
    # Redis (or SQS) as the broker: a job taken by a worker that dies unannounced goes back on the
    # queue after this many seconds.  A longer job is handed out a second time while it still
    # runs; the request lock makes that delivery wait and then return what the first released.
    visibility_timeout: int = 3600
    # A job delivered this many times without finishing (its worker died each time) is a poison
    # job: its next delivery is not run (``_deliveries``).
    max_deliveries: int = DEFAULT_MAX_DELIVERIES
    # A bulk verification's URLs are fetched only by a worker whose network use is allowed (as
    # ``hallmark verify --allow-network``: remote manifests and revocation checks too), each within
    # these limits.
    allow_network: bool = False
    fetch_max_bytes: int = 64 * 1024 * 1024
    fetch_timeout: float = 30.0

    def queue(self, name: str) -> str:
        """The broker's name for the logical queue ``name`` (``generate`` or ``verify``)."""
        return self.queue_prefix + name

    @classmethod
    def from_env(cls, **overrides: object) -> WorkerSettings:
        """``HALLMARK_BROKER_URL``, ``HALLMARK_RESULT_URL``, ``HALLMARK_HOME``,
        ``HALLMARK_WORKER_MODEL``, ``HALLMARK_WORKER_POLICY``, ``HALLMARK_WORKER_OUT`` and
        ``HALLMARK_QUEUE_PREFIX``, ``HALLMARK_VISIBILITY_TIMEOUT``, ``HALLMARK_MAX_DELIVERIES``,
        ``HALLMARK_ALLOW_NETWORK`` (``1``), ``HALLMARK_FETCH_MAX_BYTES`` and ``HALLMARK_FETCH_TIMEOUT``, each
        with its documented default; ``overrides`` that are not None win."""
        env = os.environ.get
        values: dict[str, object] = {
            "broker_url": env("HALLMARK_BROKER_URL") or DEFAULT_BROKER_URL,
            "result_url": env("HALLMARK_RESULT_URL") or DEFAULT_RESULT_URL,
            "home": Path(env("HALLMARK_HOME", "")) if env("HALLMARK_HOME") else None,
            "model": env("HALLMARK_WORKER_MODEL") or "tiny",
            "policy": env("HALLMARK_WORKER_POLICY") or "default",
            "out_root": Path(env("HALLMARK_WORKER_OUT") or "."),
            "queue_prefix": env("HALLMARK_QUEUE_PREFIX", "hallmark."),
            "visibility_timeout": int(env("HALLMARK_VISIBILITY_TIMEOUT") or 3600),
            "max_deliveries": int(env("HALLMARK_MAX_DELIVERIES") or DEFAULT_MAX_DELIVERIES),
            "allow_network": env("HALLMARK_ALLOW_NETWORK", "") == "1",
            "fetch_max_bytes": int(env("HALLMARK_FETCH_MAX_BYTES") or cls.fetch_max_bytes),
            "fetch_timeout": float(env("HALLMARK_FETCH_TIMEOUT") or cls.fetch_timeout),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if int(values["max_deliveries"]) < 1:  # type: ignore[call-overload]
            raise InputError(f"the delivery limit must be at least 1, not {values['max_deliveries']}")
        return cls(**values)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The same settings as environment variables, for the worker's pool processes."""
        env = {
            "HALLMARK_BROKER_URL": self.broker_url,
            "HALLMARK_RESULT_URL": self.result_url,
            "HALLMARK_WORKER_MODEL": self.model,
            "HALLMARK_WORKER_POLICY": self.policy,
            "HALLMARK_WORKER_OUT": str(self.out_root.resolve()),
            "HALLMARK_QUEUE_PREFIX": self.queue_prefix,
            "HALLMARK_VISIBILITY_TIMEOUT": str(self.visibility_timeout),
            "HALLMARK_MAX_DELIVERIES": str(self.max_deliveries),
            "HALLMARK_ALLOW_NETWORK": "1" if self.allow_network else "0",
            "HALLMARK_FETCH_MAX_BYTES": str(self.fetch_max_bytes),
            "HALLMARK_FETCH_TIMEOUT": str(self.fetch_timeout),
        }
        if self.home is not None:
            env["HALLMARK_HOME"] = str(self.home)
        return env


def check_audit_url(url: str, *, allow_sqlite: bool = False) -> None:
    """Refuse a SQLite audit log for a worker unless it is the one machine (``allow_sqlite``):
    workers on several machines must share one PostgreSQL log, or each would keep its own."""
    if url.startswith("sqlite") and not allow_sqlite:
        raise InputError(
            "a worker needs a shared PostgreSQL audit log, not SQLite; "
            "set HALLMARK_AUDIT_URL=postgresql://HOST/DB",
            hint="On one machine only, pass --allow-sqlite.",
        )
    if not url.startswith(("sqlite", "postgresql://", "postgres://")):
        raise InputError(f"unknown audit log URL scheme in {url.split('://', 1)[0]!r}")


def check_worker_keys(audit_key: Path) -> None:
    """Refuse to start a worker without the audit log's checkpoint key: every worker signs the
    shared log's checkpoints with the one key the log was created with, so it is made once and
    copied, never made by each worker on its first append."""
    if not audit_key.is_file():
        raise InputError(
            f"no audit checkpoint key at {audit_key}: every worker must sign the shared log with the same key",
            hint="Create it once with `hallmark keys init && hallmark audit checkpoint`, "
            "then copy that home's keys/ folder to every worker's home.",
        )


def output_folder(root: Path, requested: str | None) -> Path:
    """The folder a job's images go to: ``requested`` resolved under the worker's output root,
    which a job may not leave (a job names a folder, not any path the worker can write)."""
    base = root.resolve()
    folder = (base / (requested or "")).resolve()
    if folder != base and base not in folder.parents:
        raise InputError(
            f"output folder {requested!r} is outside the worker's output root {base}",
            hint="Name a folder under the root the worker was started with (--out).",
        )
    return folder
