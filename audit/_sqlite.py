"""The SQLite store (the default): WAL, full fsync on commit, appends under BEGIN IMMEDIATE."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hallmark.errors import AuditError

from ._entry import ascii_lower
from ._merkle import EMPTY_ROOT
from ._store import (
    SCHEMA,
    AppendPlan,
    Filters,
    Head,
    NewEntry,
    Row,
    head_from_row,
    insert_plan,
    node_query,
    pack_frontier,
    select_rows,
)

_BUSY_TIMEOUT_MS = 60_000


def sqlite_path(url: str) -> Path:
    """The file path in ``sqlite:///relative`` or ``sqlite:////absolute`` (SQLAlchemy's convention)."""
    rest = url.split("://", 1)[1]
    if not rest.startswith("/") or rest == "/":
        raise AuditError(f"bad SQLite URL {url!r}", hint="Use sqlite:///path/to/audit.db.")
    return Path(rest[1:])


class SqliteStore:
    """Audit rows in one SQLite file; any number of processes may append at once."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.path = sqlite_path(url)
        if not create and not self.path.exists():
            raise AuditError(f"no audit log at {self.path}", hint="Generate something first, or pass --home.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Usable from several threads: writes are serialised by _thread_lock below.
            self._db = sqlite3.connect(
                self.path, isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            self._thread_lock = threading.Lock()
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            # FULL: every commit is fsynced, so an acknowledged append survives a power cut.
            self._db.execute("PRAGMA synchronous = FULL")
            # Erased personal data must not linger in free pages.
            self._db.execute("PRAGMA secure_delete = ON")
            self._lock = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except (sqlite3.Error, OSError) as e:
            raise AuditError(f"cannot open SQLite audit log {self.path}: {e}") from e

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        # Writers queue on an flock first: the kernel wakes the next one the moment the lock is
        # free, where SQLite's busy handler would poll with sleeps of up to 100 ms.
        # (An flock is shared by the threads of one process, hence the thread lock too.)
        with self._thread_lock:
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            try:
                with self._transaction() as cur:
                    yield cur
            finally:
                fcntl.flock(self._lock, fcntl.LOCK_UN)

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

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise AuditError(f"SQLite audit log read failed: {e}") from e

    def initialize(self, *, origin: str) -> str:
        try:
            self._db.executescript("BEGIN IMMEDIATE;" + SCHEMA.format(blob="BLOB") + "COMMIT;")
        except sqlite3.Error as e:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise AuditError(f"cannot create the audit tables in {self.path}: {e}") from e
        with self._write() as cur:
            cur.execute("INSERT OR IGNORE INTO audit_meta (key, value) VALUES ('origin', ?)", (origin,))
            cur.execute(
                "INSERT OR IGNORE INTO audit_head (id, size, root, frontier, last_leaf, note, vkey)"
                " VALUES (1, 0, ?, ?, NULL, '', '')",
                (EMPTY_ROOT, b""),
            )
            stored = cur.execute("SELECT value FROM audit_meta WHERE key = 'origin'").fetchone()[0]
        return str(stored)

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM audit_meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as cur:
            cur.execute("INSERT OR REPLACE INTO audit_meta (key, value) VALUES (?, ?)", (key, value))

    def append(self, plan: Callable[[Head], AppendPlan]) -> AppendPlan:
        with self._write() as cur:
            row = cur.execute(
                "SELECT size, root, frontier, last_leaf, note, vkey FROM audit_head WHERE id = 1"
            ).fetchone()
            if row is None:
                raise AuditError("audit log has no tree head; it was not initialised")
            made = plan(head_from_row(row))
            insert_plan(cur, made, "?")
        return made

    def head(self) -> Head:
        rows = self._query("SELECT size, root, frontier, last_leaf, note, vkey FROM audit_head WHERE id = 1")
        if not rows:
            raise AuditError("audit log has no tree head; it was not initialised")
        return head_from_row(rows[0])

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

    def rows(self, filters: Filters) -> Iterator[Row]:
        sql, params = select_rows(filters, "?")
        try:
            yield from self._db.execute(sql, params)
        except sqlite3.Error as e:
            raise AuditError(f"SQLite audit log read failed: {e}") from e

    def personal(self, indexes: Sequence[int] | None = None) -> dict[int, tuple[bytes, str]]:
        if indexes is None:
            rows = self._query("SELECT idx, salt, data FROM audit_personal")
        else:
            rows = []
            for i in range(0, len(indexes), 500):
                chunk = list(indexes[i : i + 500])
                rows += self._query(
                    f"SELECT idx, salt, data FROM audit_personal WHERE idx IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
        return {int(i): (bytes(s), d) for i, s, d in rows}

    def iter_personal(self) -> Iterator[tuple[int, bytes, str]]:
        try:
            yield from self._db.execute("SELECT idx, salt, data FROM audit_personal ORDER BY idx")
        except sqlite3.Error as e:
            raise AuditError(f"SQLite audit log read failed: {e}") from e

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
            for idx, kind, created, rid, payload, sha, fields in self._db.execute(sql):
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

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        out: dict[tuple[int, int], bytes] = {}
        for sql, params in node_query(keys, "?"):
            for level, i, h in self._query(sql, params):
                out[(int(level), int(i))] = bytes(h)
        return out

    def all_nodes(self) -> Iterator[tuple[int, int, bytes]]:
        yield from self._db.execute("SELECT level, idx, hash FROM audit_nodes ORDER BY level, idx")

    def checkpoints(self) -> list[tuple[int, str]]:
        return [(int(s), n) for s, n in self._query("SELECT size, note FROM audit_checkpoints ORDER BY size")]

    def add_checkpoint(self, size: int, note: str, created: str) -> None:
        with self._write() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO audit_checkpoints (size, note, created) VALUES (?, ?, ?)",
                (size, note, created),
            )

    def load(
        self,
        *,
        rows: Sequence[NewEntry],
        nodes: Sequence[tuple[int, int, bytes]],
        checkpoints: Sequence[tuple[int, str, str]],
        head: Head,
    ) -> None:
        with self._write() as cur:
            if cur.execute("SELECT size FROM audit_head WHERE id = 1").fetchone()[0] != 0:
                raise AuditError(
                    f"target log {self.url} is not empty", hint="Migrate into a new, empty store."
                )
            cur.executemany(
                "INSERT INTO audit_entries (idx, kind, created, record_id, payload, sha256, body, leaf)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (e.index, e.kind, e.created, e.record_id, e.payload, e.sha256, e.body, e.leaf)
                    for e in rows
                ],
            )
            cur.executemany(
                "INSERT INTO audit_personal (idx, salt, data, subject) VALUES (?, ?, ?, ?)",
                [(e.index, *e.personal) for e in rows if e.personal is not None],
            )
            cur.executemany("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
            cur.executemany(
                "INSERT INTO audit_checkpoints (size, note, created) VALUES (?, ?, ?)", checkpoints
            )
            cur.execute(
                "UPDATE audit_head SET size = ?, root = ?, frontier = ?, last_leaf = ?, note = ?, vkey = ? WHERE id = 1",
                (head.size, head.root, pack_frontier(head.frontier), head.last_leaf, head.note, head.vkey),
            )

    def scrub(self) -> None:
        """Push erased data out of the write-ahead log too (it still holds the old page images)."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as e:
            raise AuditError(f"SQLite audit log checkpoint failed: {e}") from e

    def close(self) -> None:
        self._db.close()
        os.close(self._lock)
