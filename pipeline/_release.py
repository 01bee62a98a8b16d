"""One image's way through the post-generation stages: the work item, stage timing and failure,
and the sealed temporary file it is written to before its audit entry commits."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from hallmark.guardrails import ImageVerdict

_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_EXT = {"png": "png", "jpeg": "jpg", "webp": "webp"}
# Bytes of an image kept zero on disk until its audit entry commits: every format's signature.
_SEALED_HEAD = 16


@dataclass
class _Work:
    """One image on its way through the post-generation stages."""

    index: int
    record_id: uuid.UUID
    image: Image.Image
    verdict: ImageVerdict | None = None
    payload: bytes | None = None
    readable: bool = False  # the mark reads back from ``data`` (the released bytes)
    data: bytes = b""
    manifest_summary: dict[str, Any] = field(default_factory=dict)
    fingerprint: dict[str, Any] | None = None  # of the marked picture: binds its watermark to it
    edit: Any = None  # the input of an edit (``_edit.EditInput``), None for a generated image
    tmp_path: Path | None = None
    final_path: Path | None = None
    stages: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    outcome: str = "pending"  # released | blocked | failed:<stage>
    error: str = ""  # what failed, for the user (describe_error)
    error_type: str = ""  # the exception's type, for the audit entry


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - start) * 1000


class _StageFailed(Exception):
    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(stage)
        self.stage = stage
        self.error = error


def write_sealed(w: _Work, *, out_dir: Path, fmt: str) -> None:
    """Write the signed image beside its final name, durable but unusable: its first bytes
    (the format's signature) are zeros until the audit entry commits, so that a temp file
    left by a crash or a failed commit can never pass for a released image."""
    final = out_dir / f"{w.record_id}.{_EXT[fmt]}"
    tmp = out_dir / f".{w.record_id}.{_EXT[fmt]}.tmp"
    with open(tmp, "wb") as f:
        f.write(bytes(_SEALED_HEAD) + memoryview(w.data)[_SEALED_HEAD:])
        f.flush()
        os.fsync(f.fileno())
    w.tmp_path, w.final_path = tmp, final
