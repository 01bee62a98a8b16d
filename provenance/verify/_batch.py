"""Verify many files: collect them from folders, run ``verify_image`` in worker processes with a
per-file time limit, and yield one report per file in input order.

Workers are forked processes rather than threads because a file that hangs a native decoder
can only be stopped by killing the process that reads it; a worker that dies or overruns its time
is replaced and its file gets an ``error`` report, and the batch goes on.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hallmark.errors import HallmarkError, InputError

from ._report import Verdict, VerificationReport
from ._verify import verify_image

# Files a folder walk picks up; a file named explicitly is always verified, whatever its name.
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".avif", ".heic", ".heif"}
)
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ImageWalk:
    """The files a folder walk found, and how many entries it passed over, by reason."""

    files: list[Path]
    skipped: dict[str, int]

    def skipped_line(self) -> str:
        """One line for the user, e.g. ``skipped 3 entries: 2 hidden, 1 not a regular file``."""
        if not self.skipped:
            return ""
        parts = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items(), key=lambda kv: -kv[1]))
        return f"skipped {sum(self.skipped.values())} entries: {parts}"


def walk_images(paths: Sequence[Path | str]) -> ImageWalk:
    """Expand ``paths`` into files: a file as given, a folder recursively (image suffixes only,
    hidden entries skipped, links to folders not followed, only regular files, sorted), counting
    every entry passed over; raise ``InputError`` for a path that does not exist."""
    out: list[Path] = []
    skipped: Counter[str] = Counter()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                here = Path(dirpath)
                kept_dirs = []
                for d in sorted(dirnames):
                    if d.startswith("."):
                        skipped["hidden"] += 1
                    elif (here / d).is_symlink():
                        skipped["links to folders (not followed)"] += 1
                    else:
                        kept_dirs.append(d)
                dirnames[:] = kept_dirs
                for name in sorted(filenames):
                    reason = _passed_over(here / name)
                    if reason:
                        skipped[reason] += 1
                    else:
                        out.append(here / name)
        elif path.exists() or path.is_symlink():
            out.append(path)
        else:
            raise InputError(f"no such file or folder: {path}", hint="Check the path.")
    return ImageWalk(list(dict.fromkeys(out)), dict(skipped))


def _passed_over(path: Path) -> str:
    """Why a folder walk leaves ``path`` out, or "" when it is an image file to verify."""
    if path.name.startswith("."):
        return "hidden"
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return "not image files (by name)"
    try:
        mode = path.stat().st_mode
    except OSError:
        return "broken links"
    return "" if stat.S_ISREG(mode) else "not regular files"


def collect_images(paths: Sequence[Path | str]) -> list[Path]:
    """The files of ``walk_images(paths)``."""
    return walk_images(paths).files


def error_report(
    source: str, reason: str, *, now: dt.datetime | None = None, seconds: float = 0.0
) -> VerificationReport:
    """A report for a file that could not be verified at all (timed out, crashed the reader)."""
    return VerificationReport(
        source=source,
        verdict=Verdict.ERROR,
        explanation=f"The file could not be checked: {reason}.",
        error=reason,
        checked_at=(now or dt.datetime.now(dt.UTC)).isoformat(),
        seconds=seconds,
    )


def verify_batch(
    paths: Sequence[Path],
    *,
    workers: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    ordered: bool = True,
    **options: Any,
) -> Iterator[VerificationReport]:
    """Verify each file of ``paths`` (already collected) with ``verify_image(path, **options)``
    and yield the reports in input order (``ordered=False``: as each finishes).  ``workers``
    processes share the files and each file gets ``timeout_s`` seconds; ``workers=0`` verifies
    in this process with no time limit."""
    files = [Path(p) for p in paths]
    if workers < 0:
        raise InputError(f"--workers must be 0 or more, not {workers}")
    if timeout_s <= 0:
        raise InputError(f"the per-file time limit must be positive, not {timeout_s}")
    if workers == 0:
        for path in files:
            yield _verify_one(path, options)
        return
    yield from _Pool(
        files, workers=min(workers, max(1, len(files))), timeout_s=timeout_s, options=options
    ).run(ordered=ordered)


def _verify_one(path: Path, options: dict[str, Any]) -> VerificationReport:
    started = time.perf_counter()
    try:
        return verify_image(path, **options)
    except HallmarkError as e:
        return error_report(str(path), str(e), seconds=time.perf_counter() - started)
    except Exception as e:  # one bad file must not end the batch; the report names what broke
        reason = f"internal error {type(e).__name__}: {' '.join(str(e).split())[:200]}"
        return error_report(str(path), reason, seconds=time.perf_counter() - started)


def _worker_main(conn: Any, options: dict[str, Any]) -> None:
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, path = task
        conn.send((index, _verify_one(Path(path), options)))


@dataclass
class _Worker:
    process: Any
    conn: Any
    task: tuple[int, Path] | None = None
    started: float = 0.0


class _Pool:
    def __init__(self, files: list[Path], *, workers: int, timeout_s: float, options: dict[str, Any]) -> None:
        import multiprocessing

        # fork: the lookup callables are closures that cannot be pickled; a child inherits them.
        self._mp = multiprocessing.get_context("fork")
        self._files = files
        self._n = workers
        self._timeout = timeout_s
        self._options = options
        self._workers: list[_Worker] = []

    def _spawn(self) -> _Worker:
        parent, child = self._mp.Pipe()
        proc = self._mp.Process(target=_worker_main, args=(child, self._options), daemon=True)
        proc.start()
        child.close()  # so that the parent sees EOF when the child dies
        return _Worker(proc, parent)

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        if kill:
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()

    def run(self, *, ordered: bool = True) -> Iterator[VerificationReport]:
        from multiprocessing.connection import wait

        pending = deque(enumerate(self._files))
        done: dict[int, VerificationReport] = {}
        next_out = 0
        try:
            self._workers = [self._spawn() for _ in range(self._n)]
            while next_out < len(self._files):
                for w in self._workers:
                    if w.task is None and pending:
                        w.task = pending.popleft()
                        w.started = time.monotonic()
                        w.conn.send((w.task[0], str(w.task[1])))
                busy = [w for w in self._workers if w.task is not None]
                now = time.monotonic()
                wait_s = max(0.0, min(w.started + self._timeout for w in busy) - now) if busy else 0.0
                ready = set(wait([w.conn for w in busy], timeout=wait_s)) if busy else set()
                for i, w in enumerate(self._workers):
                    if w.task is None:
                        continue
                    index, path = w.task
                    if w.conn in ready:
                        try:
                            got_index, report = w.conn.recv()
                            done[got_index] = report
                            w.task = None
                            continue
                        except (EOFError, OSError):
                            reason = "the verifier process crashed on this file"
                            done[index] = error_report(
                                str(path), reason, seconds=time.monotonic() - w.started
                            )
                    elif time.monotonic() - w.started > self._timeout:
                        reason = f"verification took longer than the {self._timeout:g} s limit"
                        done[index] = error_report(str(path), reason, seconds=time.monotonic() - w.started)
                    else:
                        continue
                    self._retire(w, kill=True)
                    self._workers[i] = self._spawn()
                # next_out counts what was handed over: in input order, or as each finished.
                while done and (not ordered or next_out in done):
                    yield done.pop(next_out if ordered else min(done))
                    next_out += 1
        finally:
            for w in self._workers:
                try:
                    w.conn.send(None)
                except (OSError, ValueError):
                    pass
            for w in self._workers:
                w.process.join(timeout=2)
                if w.process.is_alive():
                    w.process.kill()
                    w.process.join(timeout=2)
                w.conn.close()
            self._workers = []
