"""A verification run's reports as a JSON Lines file, written as each file finishes, and the
index a resumed run skips by.

A run over an archive takes hours and gets interrupted.  Each report is one line, written whole
and flushed as soon as its file is verified, so that Ctrl-C or a killed process leaves a file
whose every complete line is a report; a line cut short by a crash is dropped (and truncated
away before anything is appended after it).  ``--resume`` skips a file whose resolved path and
content hash are both on record: a file changed since it was verified is verified again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hallmark.errors import InputError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Recorded:
    """One report already on record: the file's resolved path, its sha256, its verdict and
    whether any of its checks failed."""

    path: str
    sha256: str
    verdict: str
    checks_failed: bool = False


class ReportLog:
    """A JSON Lines file of ``verify-report`` objects, appended one whole line per report.

    Open it with :meth:`open`; use it as a context manager so that it is flushed to disk when
    the run ends, however it ends."""

    def __init__(self, path: Path, handle: IO[str], recorded: dict[tuple[str, str], Recorded]) -> None:
        self.path = path
        self._handle = handle
        self._recorded = recorded

    @classmethod
    def open(cls, path: Path, *, resume: bool) -> ReportLog:
        """Open ``path`` for appending.  With ``resume``, read the reports it holds (dropping a
        last line cut short); without, start it empty."""
        path = Path(path)
        if path.is_dir():
            raise InputError(f"cannot write reports to {path}: it is a folder", hint="Name a .jsonl file.")
        recorded: dict[tuple[str, str], Recorded] = {}
        try:
            if resume and path.exists():
                good = 0
                for end, doc in _lines(path):
                    rec = _recorded(doc)
                    if rec is not None:
                        recorded[(rec.path, rec.sha256)] = rec
                    good = end
                if good != path.stat().st_size:
                    os.truncate(path, good)  # a line cut short by a crash: keep the file valid
            handle = open(path, "a" if resume else "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError as e:
            raise InputError(f"cannot write reports to {path}: {e.strerror or type(e).__name__}") from e
        return cls(path, handle, recorded)

    @property
    def recorded(self) -> int:
        """How many files the log held when it was opened."""
        return len(self._recorded)

    def done(self, file: Path) -> Recorded | None:
        """The report on record for ``file`` as it is now (same resolved path and content), or None."""
        key = str(Path(file).resolve())
        if not any(path == key for path, _ in self._recorded):  # hash only what may be skipped
            return None
        try:
            digest = _sha256(file)
        except OSError:
            return None  # unreadable now: verify it again, and let the report say why
        return self._recorded.get((key, digest))

    def append(self, report: dict[str, Any]) -> None:
        """Write one report as one line and flush it."""
        self._handle.write(json.dumps(report, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()

    def __enter__(self) -> ReportLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each complete, parseable line of ``path`` with the byte offset where it ends; stops at the
    first line that is cut short or not JSON (everything after it is what a crash left)."""
    end = 0
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                return
            try:
                doc = json.loads(raw)
            except ValueError:
                return
            end += len(raw)
            if isinstance(doc, dict):
                yield end, doc


def _recorded(doc: dict[str, Any]) -> Recorded | None:
    image = doc.get("image")
    source, verdict = doc.get("source"), doc.get("verdict")
    digest = image.get("sha256") if isinstance(image, dict) else None
    if not (isinstance(source, str) and isinstance(verdict, str) and isinstance(digest, str)):
        return None  # an error report names no hash: such a file is verified again
    checks = doc.get("checks")
    failed = isinstance(checks, list) and any(
        isinstance(c, dict) and c.get("status") == "failed" for c in checks
    )
    return Recorded(str(Path(source).resolve()), digest, verdict, failed)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
