"""The PostgreSQL store: psycopg 3 with a connection pool; appends serialised by a row lock on the head.

``SELECT ... FOR UPDATE`` on the single head row makes every writer, on any machine, wait for
the previous append to commit before it reads the size, so indexes are consecutive and unique.
A ``schema`` query parameter (``postgresql://host/db?schema=audit``) keeps the tables in their
own schema, created if missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hallmark.errors import AuditError

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

_INIT_LOCK = 0x6861_6C6D  # advisory lock id serialising CREATE TABLE across first writers


def split_schema(url: str) -> tuple[str, str | None]:
    """Remove hallmark's own ``schema`` parameter from a libpq URL; return the URL and the schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = [(k, v) for k, v in query if k != "schema"]
    if schema is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
        raise AuditError(f"invalid PostgreSQL schema name {schema!r}")
    return urlunsplit(parts._replace(query=urlencode(rest))), schema


class PostgresStore:
    """Audit rows in PostgreSQL; many writers on many machines may append at once."""

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self._psycopg = psycopg
        conninfo, self.schema = split_schema(url)
        kwargs: dict[str, Any] = {"autocommit": True}
        if self.schema:
            kwargs["options"] = f"-c search_path={self.schema}"
        self._snap: Any = None
        try:
            # One plain connection first: it fails fast when the server is not there (the pool
            # would keep retrying), and creates the schema.
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
                if self.schema:
                    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            self._pool = ConnectionPool(conninfo, min_size=1, max_size=4, kwargs=kwargs, open=False)
            self._pool.open(wait=True, timeout=15)
        except (psycopg.Error, Exception) as e:
            raise AuditError(f"cannot connect to the PostgreSQL audit log: {type(e).__name__}") from e

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        if self._snap is not None:
            yield self._snap
            return
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._psycopg.Error as e:
            raise AuditError(f"PostgreSQL audit log failed: {e.sqlstate or type(e).__name__}") from e

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchall()

    def initialize(self, *, origin: str) -> str:
        with self._conn() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INIT_LOCK,))
            conn.execute(SCHEMA.format(blob="BYTEA"))
            conn.execute(
                "INSERT INTO audit_meta (key, value) VALUES ('origin', %s) ON CONFLICT DO NOTHING", (origin,)
            )
            conn.execute(
                "INSERT INTO audit_head (id, size, root, frontier, last_leaf, note, vkey)"
                " VALUES (1, 0, %s, %s, NULL, '', '') ON CONFLICT DO NOTHING",
                (EMPTY_ROOT, b""),
            )
            stored = conn.execute("SELECT value FROM audit_meta WHERE key = 'origin'").fetchone()[0]
        return str(stored)

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM audit_meta WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO audit_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = %s",
                (key, value, value),
            )

    def append(self, plan: Callable[[Head], AppendPlan]) -> AppendPlan:
        # Two round trips per append: BEGIN + lock the head, then every write and COMMIT in
        # one pipelined batch; the row lock is held only for that long.
        with self._conn() as conn:
            try:
                with conn.pipeline() as pipe, conn.cursor() as cur:
                    cur.execute("BEGIN")
                    cur.execute(
                        "SELECT size, root, frontier, last_leaf, note, vkey FROM audit_head WHERE id = 1 FOR UPDATE"
                    )
                    pipe.sync()
                    row = cur.fetchone()
                    if row is None:
                        raise AuditError("audit log has no tree head; it was not initialised")
                    made = plan(head_from_row(row))
                    insert_plan(cur, made, "%s")
                    cur.execute("COMMIT")
            except BaseException:
                if conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                raise
        return made

    def head(self) -> Head:
        rows = self._query("SELECT size, root, frontier, last_leaf, note, vkey FROM audit_head WHERE id = 1")
        if not rows:
            raise AuditError("audit log has no tree head; it was not initialised")
        return head_from_row(rows[0])

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        if self._snap is not None:
            yield
            return
        with self._conn() as conn:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                self._snap = conn
                try:
                    yield
                finally:
                    self._snap = None

    def rows(self, filters: Filters) -> Iterator[Row]:
        sql, params = select_rows(filters, "%s")
        with self._conn() as conn:
            if conn.info.transaction_status == self._psycopg.pq.TransactionStatus.IDLE:
                yield from ((i, bytes(b), bytes(lf)) for i, b, lf in conn.execute(sql, params))
                return
            # Inside a snapshot: a server-side cursor streams big logs without loading them whole.
            with conn.cursor(name="audit_rows") as cur:
                cur.itersize = 5000
                cur.execute(sql, params)
                yield from ((i, bytes(b), bytes(lf)) for i, b, lf in cur)

    def personal(self, indexes: Sequence[int] | None = None) -> dict[int, tuple[bytes, str]]:
        if indexes is None:
            rows = self._query("SELECT idx, salt, data FROM audit_personal")
        else:
            rows = self._query(
                "SELECT idx, salt, data FROM audit_personal WHERE idx = ANY(%s)", (list(indexes),)
            )
        return {int(i): (bytes(s), d) for i, s, d in rows}

    def iter_personal(self) -> Iterator[tuple[int, bytes, str]]:
        sql = "SELECT idx, salt, data FROM audit_personal ORDER BY idx"
        with self._conn() as conn:
            if conn.info.transaction_status == self._psycopg.pq.TransactionStatus.IDLE:
                yield from ((int(i), bytes(s), d) for i, s, d in conn.execute(sql))
                return
            with conn.cursor(name="audit_personal_rows") as cur:
                cur.itersize = 5000
                cur.execute(sql)
                yield from ((int(i), bytes(s), d) for i, s, d in cur)

    def body_columns(
        self, *, mismatches_only: bool
    ) -> Iterator[tuple[int, bool, str | None, str | None, str | None]]:
        def text(field: str, lower: bool = False) -> str:
            value = f"b->'data'->>'{field}'"
            if lower:  # ASCII only, as the Python side lowers
                value = f"translate({value}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
            return f"(CASE WHEN jsonb_typeof(b->'data'->'{field}') = 'string' THEN {value} END)"

        same = (
            "(kind IS NOT DISTINCT FROM b->>'kind' AND created IS NOT DISTINCT FROM b->>'created'"
            f" AND record_id IS NOT DISTINCT FROM {text('record_id')}"
            f" AND payload IS NOT DISTINCT FROM {text('payload', True)}"
            f" AND sha256 IS NOT DISTINCT FROM {text('sha256', True)})"
        )
        sql = (
            f"SELECT idx, same, k, rid, path FROM (SELECT idx, {same} AS same, b->>'kind' AS k,"
            f" {text('record_id')} AS rid, {text('path')} AS path FROM (SELECT idx, kind, created, record_id,"
            " payload, sha256, convert_from(body, 'UTF8')::jsonb AS b FROM audit_entries) s) t"
            + (" WHERE NOT same" if mismatches_only else "")
            + " ORDER BY idx"
        )
        for idx, same_, kind, rid, path in self._stream(sql, "audit_body_columns"):
            yield int(idx), bool(same_), kind, rid, path

    def _stream(self, sql: str, name: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """Rows of a query, streamed through a server-side cursor inside a snapshot."""
        with self._conn() as conn:
            if conn.info.transaction_status == self._psycopg.pq.TransactionStatus.IDLE:
                yield from conn.execute(sql, params)
                return
            with conn.cursor(name=name) as cur:
                cur.itersize = 5000
                cur.execute(sql, params)
                yield from cur

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        out: dict[tuple[int, int], bytes] = {}
        for sql, params in node_query(keys, "%s"):
            for level, i, h in self._query(sql, params):
                out[(int(level), int(i))] = bytes(h)
        return out

    def all_nodes(self) -> Iterator[tuple[int, int, bytes]]:
        for level, i, h in self._query("SELECT level, idx, hash FROM audit_nodes ORDER BY level, idx"):
            yield int(level), int(i), bytes(h)

    def checkpoints(self) -> list[tuple[int, str]]:
        return [(int(s), n) for s, n in self._query("SELECT size, note FROM audit_checkpoints ORDER BY size")]

    def add_checkpoint(self, size: int, note: str, created: str) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO audit_checkpoints (size, note, created) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
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
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            size = cur.execute("SELECT size FROM audit_head WHERE id = 1 FOR UPDATE").fetchone()[0]
            if size != 0:
                raise AuditError(
                    f"target log {self.url} is not empty", hint="Migrate into a new, empty store."
                )
            with cur.copy(
                "COPY audit_entries (idx, kind, created, record_id, payload, sha256, body, leaf) FROM STDIN"
            ) as copy:
                for e in rows:
                    copy.write_row(
                        (e.index, e.kind, e.created, e.record_id, e.payload, e.sha256, e.body, e.leaf)
                    )
            with cur.copy("COPY audit_personal (idx, salt, data, subject) FROM STDIN") as copy:
                for e in rows:
                    if e.personal is not None:
                        copy.write_row((e.index, *e.personal))
            with cur.copy("COPY audit_nodes (level, idx, hash) FROM STDIN") as copy:
                for n in nodes:
                    copy.write_row(n)
            cur.executemany(
                "INSERT INTO audit_checkpoints (size, note, created) VALUES (%s, %s, %s)", checkpoints
            )
            cur.execute(
                "UPDATE audit_head SET size = %s, root = %s, frontier = %s, last_leaf = %s, note = %s, vkey = %s"
                " WHERE id = 1",
                (head.size, head.root, pack_frontier(head.frontier), head.last_leaf, head.note, head.vkey),
            )

    def scrub(self) -> None:
        """Reclaim the dead tuples that still hold erased data (PostgreSQL never zeroes them itself)."""
        with self._conn() as conn:
            conn.execute("VACUUM audit_personal")

    def close(self) -> None:
        self._pool.close()
