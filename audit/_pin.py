"""The newest signed checkpoint of a log, kept in a file outside its database.

Whoever can rewrite the database can also roll it back to an older state that still verifies on
its own (an older tree head, older checkpoints, fewer entries).  A checkpoint kept elsewhere
defeats that: the log must extend it.  Every writer moves the file forward after its commit, only
to a larger tree that extends the one already there, under a lock, so that writers in several
processes (one PostgreSQL log, many generation workers) never move it back; the file is replaced
whole (temporary file, fsync, rename), so a crash leaves the old checkpoint or the new one.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hallmark.errors import AuditError, TamperError

from ._checkpoint import Checkpoint, parse_checkpoint
from ._merkle import check_consistency, frontier_root
from ._store import AuditStore
from ._stores import redact_url

_MAX_BYTES = 64 * 1024  # a checkpoint with a few dozen cosignatures is well under 8 KiB


class CheckpointFile:
    """A signed checkpoint note in one file (``HALLMARK_HOME/audit-checkpoint.txt``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"CheckpointFile({str(self.path)!r})"

    def read(self) -> Checkpoint | None:
        """The checkpoint in the file (signatures not checked), or None when there is no file.

        A file that is not a checkpoint raises TamperError: it was not written by a log.
        """
        try:
            with open(self.path, "rb") as f:
                raw = f.read(_MAX_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise AuditError(f"cannot read the checkpoint file {self.path}: {e.strerror}") from e
        try:
            if len(raw) > _MAX_BYTES:
                raise TamperError("it is too big")
            return parse_checkpoint(raw.decode("utf-8"))[0]
        except (TamperError, UnicodeDecodeError) as e:
            raise TamperError(
                f"the checkpoint file {self.path} is not a signed checkpoint ({e})",
                hint="Restore it from a copy (`hallmark audit checkpoint --export`).",
            ) from e

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # A lock file of its own: the checkpoint file itself is replaced by rename, and a lock on
        # a replaced inode would not exclude the next writer.  Each call opens it anew, so threads
        # of one process exclude each other too (flock locks belong to the open file).
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _write(self, note: str) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(note.encode())
                f.flush()
                os.fsync(f.fileno())
            # No fsync of the folder: if the rename is lost in a crash, the older checkpoint
            # stays, which the log still extends.
            os.replace(tmp, self.path)
        except OSError as e:
            raise AuditError(f"cannot write the checkpoint file {self.path}: {e.strerror}") from e
        finally:
            tmp.unlink(missing_ok=True)

    def advance(self, note: str, *, extends: Callable[[Checkpoint], None]) -> bool:
        """Replace the file's checkpoint with ``note`` if ``note`` is for a larger tree.

        ``extends(old)`` must raise TamperError unless the new tree extends the file's (a
        consistency proof); a file for another log (another origin) raises TamperError.
        Returns whether the file was written.
        """
        new = parse_checkpoint(note)[0]
        with self._locked():
            old = self.read()
            if old is not None:
                if old.origin != new.origin:
                    raise TamperError(
                        f"the checkpoint file {self.path} belongs to log {old.origin}, not {new.origin}",
                        hint="The log was replaced: restore its database, or move the file away.",
                    )
                if old.size >= new.size:
                    return False
                extends(old)
            self._write(note)
            return True

    def check_log(self, store: AuditStore, pinned: Checkpoint) -> None:
        """Refuse ``store`` unless it holds the log of ``pinned`` (this file's checkpoint), at least
        as far along: a log deleted, wiped, replaced or rolled back is never written to."""
        hint = "Restore the audit database; to start a new log on purpose, move the checkpoint file away."
        present = store.get_meta("origin") if "audit_meta" in store.tables() else None
        if present != pinned.origin:
            what = "holds no log" if present is None else f"holds another log ({present})"
            raise TamperError(
                f"the checkpoint file {self.path} records {pinned.size} entries of log {pinned.origin},"
                f" but {redact_url(store.url)} {what}: the log was wiped or replaced",
                hint=hint,
            )
        try:
            head = store.head()
        except TamperError:
            raise
        except AuditError:  # the head row is gone
            raise TamperError(
                f"log rolled back from {pinned.size} to 0 entries (the checkpoint file {self.path}):"
                " its tree head is gone",
                hint=hint,
            ) from None
        self.check_not_behind(pinned, head.size, frontier_root(head.frontier))

    def check_not_behind(self, pinned: Checkpoint, size: int, root: bytes) -> None:
        """Refuse to append to a log of ``size`` entries and ``root`` that is behind, or beside,
        the checkpoint ``pinned`` read from this file."""
        hint = "Run `hallmark audit verify`; restore the audit database from a backup."
        if size < pinned.size:
            raise TamperError(
                f"log rolled back from {pinned.size} to {size} entries (the checkpoint file {self.path}):"
                " refusing to write to it",
                hint=hint,
            )
        if size == pinned.size and root != pinned.root_hash:
            raise TamperError(
                f"log forked: its {size} entries are not those of the checkpoint file {self.path}:"
                " refusing to write to it",
                hint=hint,
            )

    def add_signatures(self, note: str) -> bool:
        """Put the signature lines of ``note`` (cosignatures) beside the file's, if the file still
        holds the same checkpoint; returns whether it did (False: the log moved on meanwhile)."""
        with self._locked():
            old = self.read()
            if old is None or _text(old.note) != _text(note):
                return False
            lines = old.note.partition("\n\n")[2].splitlines()
            lines += [x for x in note.partition("\n\n")[2].splitlines() if x not in lines]
            self._write(_text(note) + "\n" + "".join(x + "\n" for x in lines))
            return True


def _text(note: str) -> str:
    """The signed text of a note (without the blank line and the signatures)."""
    return note.partition("\n\n")[0] + "\n"


def extended_by(
    new: Checkpoint, *, built_on: Checkpoint | None, path: Callable[[int, int], list[bytes]]
) -> Callable[[Checkpoint], None]:
    """The ``extends`` check of ``advance`` for ``new``: nothing to prove when the file holds the
    very tree an append built on (``built_on``), else a consistency proof from ``path(old, new)``."""

    def extends(old: Checkpoint) -> None:
        if built_on is not None and (old.size, old.root_hash) == (built_on.size, built_on.root_hash):
            return
        try:
            check_consistency(old.size, new.size, old.root_hash, new.root_hash, path(old.size, new.size))
        except TamperError as e:
            raise TamperError(
                f"log forked: the tree of {new.size} entries does not extend the checkpoint of"
                f" {old.size} entries kept outside the log ({e})",
                hint="Run `hallmark audit verify`; restore the audit database from a backup.",
            ) from e

    return extends
