"""What a job does, without Celery: the request a client sends, the work a worker process does
with its one loaded ``GuardedPipeline`` and ``Verifier``, and what goes back.

A job's message carries the prompt (the job needs it); what goes back to the result store never
does: record ids, paths, hashes, verdicts and the prompt decision's action and rule ids.
"""

from __future__ import annotations

import json
import os
import socket
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from hallmark.errors import InputError, PipelineError

from ._fetch import fetch, is_url
from ._lock import request_lock
from ._settings import WorkerSettings, output_folder


@dataclass(frozen=True)
class GenerationJob:
    """One guarded generation request, as ``hallmark generate`` takes it, named by ``request_id``
    (a UUID the client chose: running the job again never releases its images twice)."""

    request_id: str
    prompt: str
    n: int = 1
    seed: int | None = None
    width: int = 512
    height: int = 512
    steps: int = 2
    negative_prompt: str | None = None
    user: str | None = None
    out: str | None = None  # a folder under the worker's output root
    fmt: str | None = None
    model: str | None = None  # None: the worker's model; another name is refused
    policy: str | None = None  # None: the worker's policy; another name is refused

    def to_message(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> GenerationJob:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(message) - known)
        if unknown:
            raise InputError(
                f"unknown generation job field {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        return cls(**message)


class ProcessState:
    """The one ``GuardedPipeline`` and the one ``Verifier`` of a worker process, loaded on first
    use (or when the process starts) and kept for every job it runs."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._pipeline: Any = None
        self._verifier: Any = None

    @property
    def pipeline(self) -> Any:
        if self._pipeline is None:
            from .._guarded import GuardedPipeline

            self._pipeline = GuardedPipeline.from_pretrained(
                self.settings.model, policy=self.settings.policy, home=self.settings.home
            )
        return self._pipeline

    @property
    def verifier(self) -> Any:
        if self._verifier is None:
            from .._verifier import Verifier

            self._verifier = Verifier.from_home(self.settings.home, allow_network=self.settings.allow_network)
        return self._verifier

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()
            self._pipeline = None


_STATES: dict[int, ProcessState] = {}


def process_state(settings: WorkerSettings | None = None) -> ProcessState:
    """This process's state; a forked child builds its own (connections are not shared)."""
    state = _STATES.get(os.getpid())
    if state is None:
        state = _STATES[os.getpid()] = ProcessState(settings or WorkerSettings.from_env())
    return state


def run_generation(message: dict[str, Any], state: ProcessState) -> dict[str, Any]:
    """Run one generation job under its request's lock; return what may be stored as its result."""
    job = GenerationJob.from_message(message)
    settings = state.settings
    for what, asked, served in (
        ("model", job.model, settings.model),
        ("policy", job.policy, settings.policy),
    ):
        if asked is not None and asked != served:
            raise PipelineError(
                f"this worker serves {what} {served!r}, not {asked!r}",
                hint=f"Start workers with --{what} {asked}, or leave the job's {what} out.",
            )
    out = output_folder(settings.out_root, job.out)
    pipe = state.pipeline
    with request_lock(pipe.home.audit_url, job.request_id, lock_file=pipe.home.root / "worker-requests.lock"):
        result = pipe(
            job.prompt,
            negative_prompt=job.negative_prompt,
            n=job.n,
            seed=job.seed,
            size=(job.width, job.height),
            steps=job.steps,
            user=job.user,
            out_dir=out,
            fmt=job.fmt,
            request_id=job.request_id,
        )
    d = result.decision
    return {
        "request_id": job.request_id,
        "blocked": result.blocked,
        "decision": {
            "action": d.action.value,
            "categories": list(d.categories),
            "rules": [f.rule_id for f in d.findings],
        },
        "model": result.model,
        "seed": result.seed,
        "images": [_plain(i.to_dict()) for i in result.images],
        "withheld": [_plain(w.to_dict()) for w in result.withheld],
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


def run_verification(items: Iterable[str], state: ProcessState) -> list[dict[str, Any]]:
    """Verify found images in this process, one report (as ``hallmark verify --json``) each:
    paths as the worker sees them, and URLs, which it fetches only when its network use is
    allowed.  A file or URL that cannot be checked gets an error report on its own line."""
    return [_verify_item(item, state) for item in items]


def _verify_item(item: str, state: ProcessState) -> dict[str, Any]:
    from hallmark.errors import HallmarkError
    from hallmark.provenance import error_report

    settings = state.settings
    try:
        if not is_url(item):
            return _plain(state.verifier.verify(Path(item)).to_dict())
        if not settings.allow_network:
            raise InputError(
                f"not fetched: {item} is a URL and this worker's network use is off "
                "(start it with --allow-network)"
            )
        data = fetch(item, max_bytes=settings.fetch_max_bytes, timeout_s=settings.fetch_timeout)
        return {**_plain(state.verifier.verify(data).to_dict()), "source": item}
    except HallmarkError as e:
        return _plain(error_report(item, str(e)).to_dict())
    except Exception as e:  # one bad file must not end the chunk; the report names what broke
        reason = f"internal error {type(e).__name__}: {' '.join(str(e).split())[:200]}"
        return _plain(error_report(item, reason).to_dict())


def not_verified(items: Iterable[str], reason: str) -> list[dict[str, Any]]:
    """Error reports for ``items`` that were not verified at all (a poison chunk)."""
    from hallmark.provenance import error_report

    return [_plain(error_report(item, reason).to_dict()) for item in items]


def summarize(chunks: Iterable[list[dict[str, Any]]]) -> dict[str, Any]:
    """The verdict summary of a bulk verification: how many files, and how many of each verdict."""
    verdicts: Counter[str] = Counter()
    passed = 0
    for chunk in chunks:
        for report in chunk:
            verdicts[report["verdict"]] += 1
            passed += bool(report.get("passed"))
    return {"files": sum(verdicts.values()), "passed": passed, "verdicts": dict(verdicts.most_common())}


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as plain JSON values (paths and enums as text), as the result store keeps it."""
    return json.loads(json.dumps(data, default=str))
