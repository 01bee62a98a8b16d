"""The SQLite store (the default): WAL, full fsync on commit, appends under BEGIN IMMEDIATE."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.request import pathname2url

from hallmark.errors import AuditError, TamperError

from ._entry import ascii_lower
from ._sql import HEAD_SQL, TABLES, SqlStore
from ._store import OddRow

_BUSY_TIMEOUT_MS = 60_000


def _text(value: bytes) -> str:
    # The store writes UTF-8 only; a TEXT value edited into something else must read as an edit
    # (a value that differs), not make every read of the table fail.  Used only once a read met
    # such a value: a Python text factory costs a call per value, sqlite3's own decoding none.
    return value.decode("utf-8", "replace")


def _undecodable(e: sqlite3.Error) -> bool:
    return isinstance(e, sqlite3.OperationalError) and "Could not decode to UTF-8" in str(e)


# The SQLite types the store writes in each column ("null" where a column may be empty), and the
# column that names a row in messages.  SQLite keeps whatever type an UPDATE gives a value.
_NAME = {bytes: "blob", str: "text", int: "integer", float: "real", type(None): "null"}
_COLUMN_TYPES: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "audit_entries": (
        "idx",
        {
            "idx": ("integer",),
            "kind": ("text",),
            "created": ("text",),
            "record_id": ("text", "null"),
            "payload": ("text", "null"),
            "sha256": ("text", "null"),
            "body": ("blob",),
            "leaf": ("blob",),
        },
    ),
    "audit_personal": (
        "idx",
        {"idx": ("integer",), "salt": ("blob",), "data": ("text",), "subject": ("text", "null")},
    ),
    "audit_nodes": ("idx", {"level": ("integer",), "idx": ("integer",), "hash": ("blob",)}),
    "audit_checkpoints": ("size", {"size": ("integer",), "note": ("text",), "created": ("text",)}),
    "audit_head": (
        "id",
        {
            "id": ("integer",),
            "size": ("integer",),
            "root": ("blob",),
            "frontier": ("blob",),
            "last_leaf": ("blob", "null"),
            "note": ("text",),
            "vkey": ("text",),
        },
    ),
    "audit_meta": ("key", {"key": ("text",), "value": ("text",)}),
}


def sqlite_path(url: str) -> Path:
    """The file path in ``sqlite:///relative`` or ``sqlite:////absolute`` (SQLAlchemy's convention)."""
    rest = url.split("://", 1)[1]
    if not rest.startswith("/") or rest == "/":
        raise AuditError(f"bad SQLite URL {url!r}", hint="Use sqlite:///path/to/audit.db.")
    return Path(rest[1:])


class SqliteStore(SqlStore):
    """Audit rows in one SQLite file; any number of processes may append at once."""

    placeholder = "?"
    blob_type = "BLOB"

    def __init__(self, url: str, *, create: bool = True, read_only: bool = False) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self.read_only = read_only
        self._lock: int | None = None
        if (read_only or not create) and not self.path.exists():
            raise AuditError(f"no audit log at {self.path}", hint="Generate something first, or pass --home.")
        if read_only:
            self._open_read_only()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Usable from several threads: writes are serialised by _thread_lock below.
            self._db = sqlite3.connect(
                self.path, isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            self._thread_lock = threading.Lock()
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._lock = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            # Switching a new database to WAL needs it to itself, and SQLite answers "database is
            # locked" at once, without waiting, when another process does the same: openers queue
            # on the writers' flock for it.
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
            finally:
                fcntl.flock(self._lock, fcntl.LOCK_UN)
            # FULL: every commit is fsynced, so an acknowledged append survives a power cut.
            self._db.execute("PRAGMA synchronous = FULL")
            # Erased personal data must not linger in free pages.
            self._db.execute("PRAGMA secure_delete = ON")
        except (sqlite3.Error, OSError) as e:
            raise AuditError(f"cannot open SQLite audit log {self.path}: {e}") from e

    def _open_read_only(self) -> None:
        # mode=ro: SQLite refuses every write on this connection, so reading can never create
        # tables or change a row (beside a WAL database it may create the shared-memory index).
        uri = f"file:{pathname2url(str(self.path.resolve()))}?mode=ro"
        try:
            self._db = sqlite3.connect(
                uri, uri=True, isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            self._thread_lock = threading.Lock()
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        except (sqlite3.Error, OSError) as e:
            raise AuditError(f"cannot open SQLite audit log {self.path} read-only: {e}") from e

    def tables(self) -> set[str]:
        try:
            rows = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        except sqlite3.DatabaseError as e:
            raise TamperError(f"{self.path} is not an SQLite database ({e}): it was overwritten") from e
        return {r[0] for r in rows} & set(TABLES)

    def odd_rows(self) -> Iterator[OddRow]:
        for table, (key, columns) in _COLUMN_TYPES.items():
            names = list(columns)
            where = " OR ".join(
                f"typeof({c}) NOT IN ({', '.join(repr(t) for t in allowed)})"
                for c, allowed in columns.items()
            )
            for row in self._query(f"SELECT {', '.join(names)} FROM {table} WHERE {where}"):
                values = dict(zip(names, row, strict=True))
                for column, value in values.items():
                    if _NAME.get(type(value), "?") not in columns[column]:
                        found = _NAME.get(type(value), type(value).__name__).upper()
                        yield OddRow(table, column, found, values[key], values.get("body"))
                        break

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        # Writers queue on an flock first: the kernel wakes the next one the moment the lock is
        # free, where SQLite's busy handler would poll with sleeps of up to 100 ms.
        # (An flock is shared by the threads of one process, hence the thread lock too.)
        lock = self._lock
        if lock is None:
            raise AuditError(f"the audit log {self.path} was opened read-only")
        with self._thread_lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with self._transaction() as cur:
                    yield cur
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        cur = self._db.cursor()
        try:
            # IMMEDIATE takes the write lock before reading the head, so two writers can never
            # read the same size; the busy timeout makes the others wait instead of failing.
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        except sqlite3.Error as e:
            raise AuditError(f"SQLite audit log write failed: {e}") from e

    @contextmanager
    def _creating(self, schema: str) -> Iterator[sqlite3.Cursor]:
        # executescript commits whatever transaction is open before it runs, so the tables are
        # created in a transaction of their own, ahead of the write one.
        try:
            self._db.executescript("BEGIN IMMEDIATE;" + schema + "COMMIT;")
        except sqlite3.Error as e:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise AuditError(f"cannot create the audit tables in {self.path}: {e}") from e
        with self._write() as cur:
            yield cur

    @contextmanager
    def _locked_head(self) -> Iterator[tuple[sqlite3.Cursor, Any]]:
        with self._write() as cur:  # BEGIN IMMEDIATE: the write lock is taken before the read
            yield cur, cur.execute(HEAD_SQL).fetchone()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._stream(sql, "", params))

    def _stream(self, sql: str, name: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        done = 0
        while True:
            try:
                for i, row in enumerate(self._db.execute(sql, params)):
                    if i >= done:  # after a retry, the rows already given are skipped
                        done += 1
                        yield row
                return
            except sqlite3.Error as e:
                if _undecodable(e) and self._db.text_factory is str:
                    self._db.text_factory = _text  # then read the rest of the log that way
                    continue
                raise AuditError(f"SQLite audit log read failed: {e}") from e

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def body_columns(
        self, *, mismatches_only: bool
    ) -> Iterator[tuple[int, bool, str | None, str | None, str | None]]:
        # One json_extract with several paths parses each body once, in C, into a small JSON
        # array (referencing it several times in SQL would parse the body again each time).
        sql = (
            "SELECT idx, kind, created, record_id, payload, sha256, json_extract(CAST(body AS TEXT),"
            " '$.kind', '$.created', '$.data.record_id', '$.data.payload', '$.data.sha256', '$.data.path')"
            " FROM audit_entries ORDER BY idx"
        )
        loads = json.loads
        text = str
        try:
            for idx, kind, created, rid, payload, sha, fields in self._stream(sql, "audit_body_columns"):
                f = loads(fields)
                same = (
                    kind == f[0]
                    and created == f[1]
                    and rid == (f[2] if type(f[2]) is text else None)
                    and payload == (ascii_lower(f[3]) if type(f[3]) is text else None)
                    and sha == (ascii_lower(f[4]) if type(f[4]) is text else None)
                )
                if same and mismatches_only:
                    continue
                yield idx, same, f[0], f[2], f[5] if type(f[5]) is text else None
        except (sqlite3.Error, ValueError, TypeError, IndexError) as e:
            raise AuditError(f"SQLite audit log read failed: {type(e).__name__}") from e

    def scrub(self) -> None:
        """Push erased data out of the write-ahead log too (it still holds the old page images)."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as e:
            raise AuditError(f"SQLite audit log checkpoint failed: {e}") from e

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            os.close(self._lock)
