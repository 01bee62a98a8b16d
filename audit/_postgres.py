"""The PostgreSQL store: psycopg 3 with a connection pool; appends serialised by a row lock on the head.

``SELECT ... FOR UPDATE`` on the single head row makes every writer, on any machine, wait for
the previous append to commit before it reads the size, so indexes are consecutive and unique.
A ``schema`` query parameter (``postgresql://host/db?schema=audit``) keeps the tables in their
own schema, created if missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hallmark.errors import AuditError

from ._sql import HEAD_SQL, TABLES, SqlStore

_INIT_LOCK = 0x6861_6C6D  # advisory lock id serialising CREATE SCHEMA / TABLE across first writers
# The SQL type of each column an append writes that is not TEXT (the schema in ``_sql.SCHEMA``).
_COLUMN_TYPES = {
    "idx": "bigint",
    "level": "integer",
    "body": "bytea",
    "leaf": "bytea",
    "salt": "bytea",
    "hash": "bytea",
}


def split_schema(url: str) -> tuple[str, str | None]:
    """Remove hallmark's own ``schema`` parameter from a libpq URL; return the URL and the schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = [(k, v) for k, v in query if k != "schema"]
    if schema is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
        raise AuditError(f"invalid PostgreSQL schema name {schema!r}")
    return urlunsplit(parts._replace(query=urlencode(rest))), schema


class PostgresStore(SqlStore):
    """Audit rows in PostgreSQL; many writers on many machines may append at once."""

    placeholder = "%s"
    blob_type = "BYTEA"
    for_update = " FOR UPDATE"

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self.read_only = read_only
        self._psycopg = psycopg
        conninfo, self.schema = split_schema(url)
        kwargs: dict[str, Any] = {"autocommit": True}
        options = [f"-c search_path={self.schema}"] if self.schema else []
        if read_only:  # the server itself refuses every write made through these connections
            options.append("-c default_transaction_read_only=on")
        if options:
            kwargs["options"] = " ".join(options)
        self._snap: Any = None
        try:
            # One plain connection first: it fails fast when the server is not there (the pool
            # would keep retrying), and creates the schema.
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
                if self.schema and not read_only:
                    # IF NOT EXISTS is not safe against a concurrent CREATE (a fleet starting on a
                    # new schema at once): the first writers take turns under an advisory lock.
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INIT_LOCK,))
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

    @contextmanager
    def _write(self) -> Iterator[Any]:
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    @contextmanager
    def _creating(self, schema: str) -> Iterator[Any]:
        with self._write() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_INIT_LOCK,))
            cur.execute(schema)
            yield cur

    @contextmanager
    def _locked_head(self) -> Iterator[tuple[Any, Any]]:
        # Two round trips per append: BEGIN + lock the head, then every write and COMMIT in
        # one pipelined batch; the row lock is held only for that long.
        with self._conn() as conn:
            try:
                with conn.pipeline() as pipe, conn.cursor() as cur:
                    cur.execute("BEGIN")
                    cur.execute(HEAD_SQL + self.for_update)
                    pipe.sync()
                    yield cur, cur.fetchone()
                    cur.execute("COMMIT")
            except BaseException:
                if conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                raise

    def _insert_many(
        self, cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        # COPY streams the rows in one command, many times faster than INSERTs for a big copy.
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _insert_batch(
        self, cur: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        # One INSERT over unnest()ed arrays, one per column: a batch's rows in a single statement
        # (a statement per row costs the server about as much again; COPY cannot run in a pipeline).
        if len(rows) == 1:
            cur.execute(self._insert_sql(table, columns), rows[0])
            return
        arrays = [list(values) for values in zip(*rows, strict=True)]
        casts = ", ".join(f"%s::{_COLUMN_TYPES.get(c, 'text')}[]" for c in columns)
        cur.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({casts})", arrays)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchall()

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

    def tables(self) -> set[str]:
        rows = self._query(
            "SELECT t FROM unnest(%s::text[]) t WHERE to_regclass(t) IS NOT NULL", (list(TABLES),)
        )
        return {r[0] for r in rows}

    def scrub(self) -> None:
        """Reclaim the dead tuples that still hold erased data (PostgreSQL never zeroes them itself)."""
        with self._conn() as conn:
            conn.execute("VACUUM audit_personal")

    def close(self) -> None:
        self._pool.close()
