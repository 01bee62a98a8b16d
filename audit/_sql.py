"""The SQL both stores share, written once: ``SqlStore`` holds every query the log runs.

SQLite and PostgreSQL differ only in how they connect, take the write lock, stream big results
and bulk-load a copy, and in their placeholder and blob type; their subclasses supply those and
nothing else (besides the one query each writes in its own JSON dialect, ``body_columns``).
Cursors are used through the DB-API subset both drivers share: ``execute`` returning the
cursor, ``executemany``, ``fetchone``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from hallmark.errors import AuditError, TamperError

from ._merkle import EMPTY_ROOT
from ._store import AppendPlan, Filters, Head, NewEntry, OddRow, Row

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, root {blob} NOT NULL,
    frontier {blob} NOT NULL, last_leaf {blob}, note TEXT NOT NULL, vkey TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_entries (
    idx BIGINT PRIMARY KEY, kind TEXT NOT NULL, created TEXT NOT NULL, record_id TEXT,
    payload TEXT, sha256 TEXT, body {blob} NOT NULL, leaf {blob} NOT NULL);
CREATE INDEX IF NOT EXISTS audit_entries_record ON audit_entries (record_id);
CREATE INDEX IF NOT EXISTS audit_entries_payload ON audit_entries (payload);
CREATE INDEX IF NOT EXISTS audit_entries_sha256 ON audit_entries (sha256);
CREATE INDEX IF NOT EXISTS audit_entries_kind ON audit_entries (kind, idx);
CREATE INDEX IF NOT EXISTS audit_entries_created ON audit_entries (created);
CREATE TABLE IF NOT EXISTS audit_personal (
    idx BIGINT PRIMARY KEY, salt {blob} NOT NULL, data TEXT NOT NULL, subject TEXT);
CREATE INDEX IF NOT EXISTS audit_personal_subject ON audit_personal (subject);
CREATE TABLE IF NOT EXISTS audit_nodes (
    level INTEGER NOT NULL, idx BIGINT NOT NULL, hash {blob} NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE IF NOT EXISTS audit_checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL, created TEXT NOT NULL);
"""

TABLES = ("audit_meta", "audit_head", "audit_entries", "audit_personal", "audit_nodes", "audit_checkpoints")
HEAD_SQL = "SELECT size, root, frontier, last_leaf, note, vkey FROM audit_head WHERE id = 1"
NO_HEAD = "audit log has no tree head; it was not initialised"

# The columns each bulk insert fills, in the order of the tuples written to them.
ENTRY_COLUMNS = ("idx", "kind", "created", "record_id", "payload", "sha256", "body", "leaf")
PERSONAL_COLUMNS = ("idx", "salt", "data", "subject")
NODE_COLUMNS = ("level", "idx", "hash")
CHECKPOINT_COLUMNS = ("size", "note", "created")

_CHUNK = 500  # indexes per IN list, well below SQLite's limit on parameters


def pack_frontier(frontier: list[bytes]) -> bytes:
    return b"".join(frontier)


def unpack_frontier(blob: bytes) -> list[bytes]:
    return [bytes(blob[i : i + 32]) for i in range(0, len(blob), 32)]


def describe(value: Any) -> str:
    """A stored value's type in SQL words, for messages that say what an edit left behind."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"a BLOB of {len(value)} bytes"
    if isinstance(value, str):
        return "TEXT"
    if isinstance(value, int):
        return f"the integer {value}"
    return type(value).__name__.upper()


def head_from_row(row: Any) -> Head:
    """The tree head row as a ``Head``; TamperError naming the column when a value is not what
    the store writes (a head edited by hand must never crash a reader or an appender)."""
    size, root, frontier, last_leaf, note, vkey = row
    if type(size) is not int or size < 0:
        bad = "size", size
    elif not isinstance(root, bytes) or len(root) != 32:
        bad = "root", root
    elif not isinstance(frontier, bytes) or len(frontier) != 32 * size.bit_count():
        bad = "frontier", frontier
    elif last_leaf is not None and (not isinstance(last_leaf, bytes) or len(last_leaf) != 32):
        bad = "last leaf", last_leaf
    elif (last_leaf is None) != (size == 0):
        bad = "last leaf", last_leaf
    elif not isinstance(note, str) or not isinstance(vkey, str):
        bad = ("note", note) if not isinstance(note, str) else ("key", vkey)
    else:
        return Head(
            size=size,
            root=root,
            frontier=unpack_frontier(frontier),
            last_leaf=last_leaf,
            note=note,
            vkey=vkey,
        )
    column, value = bad
    raise TamperError(f"the tree head row was edited: its {column} is {describe(value)}")


def entry_row(e: NewEntry) -> tuple[Any, ...]:
    """The values of ``ENTRY_COLUMNS`` for one entry."""
    return (e.index, e.kind, e.created, e.record_id, e.payload, e.sha256, e.body, e.leaf)


class SqlStore(ABC):
    """An ``AuditStore`` over SQL tables; a subclass names its dialect and supplies its transactions."""

    placeholder: ClassVar[str]  # the driver's parameter marker: "?" or "%s"
    blob_type: ClassVar[str]  # the column type of hashes and bodies
    for_update: ClassVar[str] = ""  # appended to a read of the head that must lock it

    url: str

    # --- what each database does its own way ---------------------------------------------

    @abstractmethod
    def _write(self) -> AbstractContextManager[Any]:
        """A cursor in a write transaction, committed durably on leaving and rolled back on error."""

    @abstractmethod
    def _creating(self, schema: str) -> AbstractContextManager[Any]:
        """A write cursor, after creating the tables with ``schema`` (first writers may race to)."""

    @abstractmethod
    def _locked_head(self) -> AbstractContextManager[tuple[Any, Any]]:
        """A write cursor and the head row (``HEAD_SQL``), locked until the transaction commits."""

    @abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """All rows of a small query."""

    @abstractmethod
    def _stream(self, sql: str, name: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """The rows of a query that may be big, without holding them all (``name`` names a cursor).

        Rows come as the driver reads them: sqlite3 and psycopg 3 both give integers as ``int``
        and BLOB / BYTEA as ``bytes``, so the hot verification loop converts nothing.
        """

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[None]:
        """A consistent read view for several reads (verification, migration)."""

    @abstractmethod
    def body_columns(
        self, *, mismatches_only: bool
    ) -> Iterator[tuple[int, bool, str | None, str | None, str | None]]:
        """See ``AuditStore.body_columns``: each database reads JSON in its own dialect."""

    @abstractmethod
    def tables(self) -> set[str]:
        """The audit tables present."""

    def odd_rows(self) -> Iterator[OddRow]:
        """Values of the wrong type: none where the columns enforce their types (PostgreSQL)."""
        return iter(())

    @abstractmethod
    def scrub(self) -> None:
        """Best effort to overwrite deleted personal data on disk after an erasure."""

    @abstractmethod
    def close(self) -> None: ...

    def _insert_many(
        self, cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Insert many rows in the caller's transaction (PostgreSQL overrides this with ``COPY``)."""
        cur.executemany(self._insert_sql(table, columns), rows)

    def _insert_batch(
        self, cur: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert the rows of one append batch under the locked head (PostgreSQL: one statement)."""
        cur.executemany(self._insert_sql(table, columns), rows)

    # --- the SQL, written once -----------------------------------------------------------

    def _insert_sql(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join([self.placeholder] * len(columns))
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"

    def _update_head(self, cur: Any, head: Head) -> None:
        p = self.placeholder
        cur.execute(
            f"UPDATE audit_head SET size = {p}, root = {p}, frontier = {p}, last_leaf = {p}, note = {p},"
            f" vkey = {p} WHERE id = 1",
            (head.size, head.root, pack_frontier(head.frontier), head.last_leaf, head.note, head.vkey),
        )

    def initialize(self, *, origin: str) -> str:
        p = self.placeholder
        with self._creating(SCHEMA.format(blob=self.blob_type)) as cur:
            cur.execute(
                f"INSERT INTO audit_meta (key, value) VALUES ('origin', {p}) ON CONFLICT DO NOTHING",
                (origin,),
            )
            cur.execute(
                "INSERT INTO audit_head (id, size, root, frontier, last_leaf, note, vkey)"
                f" VALUES (1, 0, {p}, {p}, NULL, '', '') ON CONFLICT DO NOTHING",
                (EMPTY_ROOT, b""),
            )
            stored = cur.execute("SELECT value FROM audit_meta WHERE key = 'origin'").fetchone()[0]
        return str(stored)

    def get_meta(self, key: str) -> str | None:
        rows = self._query(f"SELECT value FROM audit_meta WHERE key = {self.placeholder}", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        p = self.placeholder
        with self._write() as cur:
            cur.execute(
                f"INSERT INTO audit_meta (key, value) VALUES ({p}, {p})"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def append(self, plan: Callable[[Head], AppendPlan]) -> AppendPlan:
        with self._locked_head() as (cur, row):
            if row is None:
                raise AuditError(NO_HEAD)
            made = plan(head_from_row(row))
            self._insert_batch(cur, "audit_entries", ENTRY_COLUMNS, [entry_row(e) for e in made.entries])
            personal = [(e.index, *e.personal) for e in made.entries if e.personal is not None]
            if personal:
                self._insert_batch(cur, "audit_personal", PERSONAL_COLUMNS, personal)
            if made.nodes:
                self._insert_batch(cur, "audit_nodes", NODE_COLUMNS, made.nodes)
            if made.erase:
                cur.executemany(
                    f"DELETE FROM audit_personal WHERE idx = {self.placeholder}", [(i,) for i in made.erase]
                )
            self._update_head(cur, made.head)
        return made

    def head(self) -> Head:
        rows = self._query(HEAD_SQL)
        if not rows:
            raise AuditError(NO_HEAD)
        return head_from_row(rows[0])

    def rows(self, filters: Filters) -> Iterator[Row]:
        p = self.placeholder
        # From the start without a bound: verification must see a row stored at a negative index.
        where = [f"e.idx >= {p}"] if filters.start else ["1 = 1"]
        params: list[Any] = [filters.start] if filters.start else []
        for condition, value in (
            ("e.kind =", filters.kind),
            ("e.record_id =", filters.record_id),
            ("e.payload =", filters.payload),
            ("e.sha256 =", filters.sha256),
            ("p.subject =", filters.user),
            ("e.created >=", filters.since),
            ("e.created <", filters.until),
        ):
            if value is not None:
                where.append(f"{condition} {p}")
                params.append(value)
        join = " JOIN audit_personal p ON p.idx = e.idx" if filters.user is not None else ""
        sql = f"SELECT e.idx, e.body, e.leaf FROM audit_entries e{join} WHERE {' AND '.join(where)} ORDER BY e.idx"
        if filters.limit is not None:
            sql += f" LIMIT {int(filters.limit)}"
        return self._stream(sql, "audit_rows", params)

    def personal(self, indexes: Sequence[int] | None = None) -> dict[int, tuple[bytes, str]]:
        sql = "SELECT idx, salt, data FROM audit_personal"
        if indexes is None:
            rows = self._query(sql)
        else:
            rows = []
            for i in range(0, len(indexes), _CHUNK):
                chunk = list(indexes[i : i + _CHUNK])
                rows += self._query(
                    f"{sql} WHERE idx IN ({', '.join([self.placeholder] * len(chunk))})", chunk
                )
        out: dict[int, tuple[bytes, str]] = {}
        for i, salt, data in rows:
            if type(i) is not int or not isinstance(salt, bytes) or not isinstance(data, str):
                raise TamperError(
                    f"a personal-data row was edited (index {describe(i)}, salt {describe(salt)},"
                    f" data {describe(data)})",
                    hint="Run `hallmark audit verify`.",
                )
            out[i] = (salt, data)
        return out

    def iter_personal(self) -> Iterator[tuple[int, bytes, str, str | None]]:
        return self._stream(
            "SELECT idx, salt, data, subject FROM audit_personal ORDER BY idx", "audit_personal_rows"
        )

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        # Leaves come from the entries table, the inner nodes from the nodes table.
        p = self.placeholder
        leaves = [i for level, i in keys if level == 0]
        inner = [(level, i) for level, i in keys if level > 0]
        queries: list[tuple[str, list[Any]]] = []
        if leaves:
            marks = ", ".join([p] * len(leaves))
            queries.append((f"SELECT 0, idx, leaf FROM audit_entries WHERE idx IN ({marks})", leaves))
        if inner:
            cond = " OR ".join([f"(level = {p} AND idx = {p})"] * len(inner))
            queries.append(
                (f"SELECT level, idx, hash FROM audit_nodes WHERE {cond}", [x for k in inner for x in k])
            )
        out: dict[tuple[int, int], bytes] = {}
        for sql, params in queries:
            for level, i, h in self._query(sql, params):
                out[(int(level), int(i))] = bytes(h)
        return out

    def all_nodes(self) -> Iterator[tuple[int, int, bytes]]:
        return self._stream("SELECT level, idx, hash FROM audit_nodes ORDER BY level, idx", "audit_nodes")

    def checkpoints(self) -> list[tuple[int, str]]:
        rows = self._query("SELECT size, note FROM audit_checkpoints ORDER BY size")
        for size, note in rows:
            if type(size) is not int or not isinstance(note, str):
                raise TamperError(
                    f"a checkpoint row was edited (size {describe(size)}, note {describe(note)})",
                    hint="Run `hallmark audit verify`.",
                )
        return [(s, n) for s, n in rows]

    def add_checkpoint(self, size: int, note: str, created: str) -> None:
        with self._write() as cur:
            cur.execute(
                self._insert_sql("audit_checkpoints", CHECKPOINT_COLUMNS) + " ON CONFLICT DO NOTHING",
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
            if cur.execute(f"SELECT size FROM audit_head WHERE id = 1{self.for_update}").fetchone()[0] != 0:
                raise AuditError(
                    f"target log {self.url} is not empty", hint="Migrate into a new, empty store."
                )
            self._insert_many(cur, "audit_entries", ENTRY_COLUMNS, (entry_row(e) for e in rows))
            self._insert_many(
                cur,
                "audit_personal",
                PERSONAL_COLUMNS,
                ((e.index, *e.personal) for e in rows if e.personal is not None),
            )
            self._insert_many(cur, "audit_nodes", NODE_COLUMNS, nodes)
            self._insert_many(cur, "audit_checkpoints", CHECKPOINT_COLUMNS, checkpoints)
            self._update_head(cur, head)
