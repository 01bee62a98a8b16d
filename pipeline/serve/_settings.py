"""What one server is started with, and how it reaches uvicorn's worker processes.

uvicorn starts ``--workers N`` processes that each import the application by name, so the
settings travel as JSON in one environment variable that ``app_from_environment`` reads back.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from hallmark.errors import InputError

ENVIRONMENT_VARIABLE = "HALLMARK_SERVE_SETTINGS"
MB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """The server's configuration: the home it verifies against (and ``trust`` PEM files and a
    C2PA ``trust_list`` trusted besides the home's CA), the policy ``/v1/check`` applies by
    default, the largest request body it reads, and the per-client request rates.

    ``check_per_minute`` and ``verify_per_minute`` are per client address and per worker
    process; a client may spend a quarter of a minute's allowance at once.  At most
    ``verify_slots`` images are verified at once per server process (default: the CPUs, up to 4),
    each in a worker process that is killed after ``verify_timeout_s`` seconds; with a time limit
    of 0 they are verified in the server's own threads, with no limit (as ``verify --workers 0``).

    Operators (bearer tokens) generate with ``model`` into ``images_dir`` (default
    ``HOME/served-images``), one request at a time per process with at most ``generate_queue``
    waiting, or on the Celery workers when ``HALLMARK_BROKER_URL`` is set; ``operator_per_minute``
    bounds their requests per client.  Uploads are kept in ``keep_uploads`` only when it is set.
    With ``allow_network``, ``POST /v1/verify`` also fetches an image URL, within
    ``fetch_timeout_s`` seconds and the upload limit, from public addresses only unless
    ``fetch_private``."""

    home: str | None = None
    policy: str = "default"
    max_upload_bytes: int = 25 * MB
    allow_network: bool = False
    trust: tuple[str, ...] = ()
    trust_list: str | None = None
    check_per_minute: int = 60
    verify_per_minute: int = 60
    verify_slots: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    verify_timeout_s: float = 30.0
    model: str = "tiny"
    images_dir: str | None = None
    generate_queue: int = 4
    generate_timeout_s: float = 600.0
    operator_per_minute: int = 120
    keep_uploads: str | None = None
    fetch_timeout_s: float = 10.0
    fetch_private: bool = False

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1:
            raise InputError(
                "the upload limit must be at least one byte", hint="Pass --max-upload-mb 1 or more."
            )
        if self.verify_timeout_s < 0:
            raise InputError(
                "the time limit per file must be 0 or more seconds", hint="Pass --timeout 30, or 0."
            )
        for name in (
            "check_per_minute",
            "verify_per_minute",
            "verify_slots",
            "operator_per_minute",
            "generate_queue",
        ):
            if getattr(self, name) < 1:
                raise InputError(
                    f"{name.replace('_', ' ')} must be at least 1",
                    hint="Give 1 or more.",
                )

    def to_environment(self) -> str:
        """The settings as the JSON text ``from_environment`` reads."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> ServeSettings:
        """The settings a parent process put in ``HALLMARK_SERVE_SETTINGS`` (defaults when unset)."""
        text = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE)
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(**{**data, "trust": tuple(data.get("trust", ()))})
        except (ValueError, TypeError) as e:
            raise InputError(
                f"{ENVIRONMENT_VARIABLE} does not hold server settings: {e}",
                hint="Start the server with `hallmark serve`, which sets it.",
            ) from e
