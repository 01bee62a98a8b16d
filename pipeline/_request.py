"""What a request may ask for, checked before any model loads or anything is written."""

from __future__ import annotations

import os
from pathlib import Path

from hallmark.errors import InputError, PipelineError

MAX_IMAGES_PER_REQUEST = 64
MAX_SIDE = 4096
FORMATS = ("png", "jpeg", "webp")


def check_request(*, n: int, width: int, height: int, steps: int, fmt: str) -> None:
    """Refuse a request hallmark will not run, before anything is loaded or written."""
    if not 1 <= n <= MAX_IMAGES_PER_REQUEST:
        raise PipelineError(f"n must be between 1 and {MAX_IMAGES_PER_REQUEST}, got {n}")
    for name, side in (("width", width), ("height", height)):
        if not 64 <= side <= MAX_SIDE or side % 8:
            raise PipelineError(f"{name} must be a multiple of 8 between 64 and {MAX_SIDE}, got {side}")
    if steps < 1:
        raise PipelineError(f"steps must be at least 1, got {steps}")
    if fmt not in FORMATS:
        raise PipelineError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


def check_writable(folder: Path) -> None:
    """Refuse an output folder that cannot be written before any model runs, without creating it
    (a blocked prompt writes nothing): the folder, or its nearest existing parent, must be a
    writable directory."""
    _check_folder(folder, f"cannot write images to {folder}")


def check_writable_file(path: Path, *, what: str = "the report") -> None:
    """Refuse a file that cannot be written before any work that would end by writing it: it
    must not be a folder, and its folder (or that folder's nearest existing parent) must be a
    writable directory."""
    if path.is_dir():
        raise InputError(
            f"cannot write {what} to {path}: it is a folder", hint="Name a file, e.g. report.html."
        )
    _check_folder(path.parent, f"cannot write {what} to {path}")


def _check_folder(folder: Path, failure: str) -> None:
    """``folder``, or its nearest existing parent, must be a writable directory."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{failure}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{failure}: {probe} is not writable")
