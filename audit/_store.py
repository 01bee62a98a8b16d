"""Where entries live: the store protocol, the registry by URL scheme, and the shared SQL layer.

A store is dumb on purpose: it keeps rows and serialises appends.  Everything that makes the
log trustworthy (canonical entries, hashes, the tree, signatures) happens in ``AuditLog``; the
store only guarantees that ``append`` runs its plan function under a lock on the tree head, so
that concurrent writers on any number of machines get consecutive indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from hallmark.errors import AuditError


@dataclass
class Head:
    """The tree head row: size, root, right-edge subtree hashes, last leaf, signed note, verifier key."""

    size: int
    root: bytes
    frontier: list[bytes]
    last_leaf: bytes | None
    note: str
    vkey: str


@dataclass
class NewEntry:
    """One row to insert: the serialised entry and the columns queries use."""

    index: int
    kind: str
    created: str
    record_id: str | None
    payload: str | None
    sha256: str | None
    body: bytes
    leaf: bytes
    personal: tuple[bytes, str, str | None] | None = None  # salt, data JSON, subject (user)


@dataclass
class AppendPlan:
    """What one append writes, all in one transaction."""

    entry: NewEntry
    nodes: list[tuple[int, int, bytes]]
    head: Head
    erase: list[int] = field(default_factory=list)


@dataclass
class Filters:
    """Filters a store can evaluate itself (the rest are applied to decoded entries)."""

    kind: str | None = None
    record_id: str | None = None
    payload: str | None = None
    sha256: str | None = None
    since: str | None = None
    until: str | None = None
    user: str | None = None
    start: int = 0
    limit: int | None = None


Row = tuple[int, bytes, bytes]  # index, body, leaf hash


class AuditStore(Protocol):
    """The protocol every audit store implements (registered by URL scheme in ``STORES``)."""

    url: str

    def initialize(self, *, origin: str) -> str:
        """Create the tables if needed and return the log's origin (the stored one if it exists)."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def append(self, plan: Callable[[Head], AppendPlan]) -> AppendPlan:
        """Lock the tree head, call ``plan`` with it, write what it returns, commit durably."""
        ...

    def head(self) -> Head: ...

    def snapshot(self) -> AbstractContextManager[None]:
        """A consistent read view for several reads (verification, migration)."""
        ...

    def rows(self, filters: Filters) -> Iterator[Row]: ...

    def personal(self, indexes: Sequence[int] | None = None) -> dict[int, tuple[bytes, str]]: ...

    def iter_personal(self) -> Iterator[tuple[int, bytes, str]]:
        """Every personal-data row (index, salt, data) in index order, streamed."""
        ...

    def body_columns(
        self, *, mismatches_only: bool
    ) -> Iterator[tuple[int, bool, str | None, str | None, str | None]]:
        """Per entry in index order: whether the search columns (kind, created, record id, payload,
        sha256) equal the same fields read from the body, and the body's kind, record id and
        ``data.path``; with ``mismatches_only`` just the entries whose columns differ."""
        ...

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Complete-subtree hashes by (level, index); level 0 are leaf hashes."""
        ...

    def all_nodes(self) -> Iterator[tuple[int, int, bytes]]: ...

    def checkpoints(self) -> list[tuple[int, str]]: ...

    def add_checkpoint(self, size: int, note: str, created: str) -> None: ...

    def load(
        self,
        *,
        rows: Sequence[NewEntry],
        nodes: Sequence[tuple[int, int, bytes]],
        checkpoints: Sequence[tuple[int, str, str]],
        head: Head,
    ) -> None:
        """Bulk-load a copy of another log into this empty store (``migrate``)."""
        ...

    def scrub(self) -> None:
        """Best effort to overwrite deleted personal data on disk after an erasure."""
        ...

    def close(self) -> None: ...


StoreFactory = Callable[..., AuditStore]


def _open_sqlite(url: str, *, create: bool = True) -> AuditStore:
    from ._sqlite import SqliteStore

    return SqliteStore(url, create=create)


def _open_postgres(url: str, *, create: bool = True) -> AuditStore:
    from ._postgres import PostgresStore

    return PostgresStore(url)


# The explicit registry: URL scheme -> factory.  No discovery.
STORES: dict[str, StoreFactory] = {
    "sqlite": _open_sqlite,
    "postgresql": _open_postgres,
    "postgres": _open_postgres,
}


def open_store(url: str, *, create: bool = True) -> AuditStore:
    """Open the store for ``url`` by its scheme; an unknown scheme lists the known ones."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise AuditError(
            f"not a log URL: {url!r}", hint="Use sqlite:///path/to/audit.db or postgresql://host/db."
        )
    factory = STORES.get(scheme.split("+")[0].lower())
    if factory is None:
        raise AuditError(
            f"unknown audit store scheme {scheme!r}; known: {', '.join(sorted(STORES))}",
            hint="Use sqlite:///path/to/audit.db or postgresql://host/db.",
        )
    return factory(url, create=create)


# --- the SQL both stores share; subclasses set the placeholder, types and locking. ---

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


def pack_frontier(frontier: list[bytes]) -> bytes:
    return b"".join(frontier)


def unpack_frontier(blob: bytes) -> list[bytes]:
    return [bytes(blob[i : i + 32]) for i in range(0, len(blob), 32)]


def head_from_row(row: Any) -> Head:
    size, root, frontier, last_leaf, note, vkey = row
    return Head(
        size=int(size),
        root=bytes(root),
        frontier=unpack_frontier(bytes(frontier)),
        last_leaf=bytes(last_leaf) if last_leaf is not None else None,
        note=note,
        vkey=vkey,
    )


def where_clause(filters: Filters, ph: str) -> tuple[str, list[Any]]:
    """Build the WHERE clause and parameters for the store-side filters."""
    sql = ["e.idx >= " + ph]
    params: list[Any] = [filters.start]
    for column, value in (
        ("e.kind", filters.kind),
        ("e.record_id", filters.record_id),
        ("e.payload", filters.payload),
        ("e.sha256", filters.sha256),
        ("p.subject", filters.user),
    ):
        if value is not None:
            sql.append(f"{column} = {ph}")
            params.append(value)
    if filters.since is not None:
        sql.append(f"e.created >= {ph}")
        params.append(filters.since)
    if filters.until is not None:
        sql.append(f"e.created < {ph}")
        params.append(filters.until)
    return " AND ".join(sql), params


def select_rows(filters: Filters, ph: str) -> tuple[str, list[Any]]:
    where, params = where_clause(filters, ph)
    join = " JOIN audit_personal p ON p.idx = e.idx" if filters.user is not None else ""
    sql = f"SELECT e.idx, e.body, e.leaf FROM audit_entries e{join} WHERE {where} ORDER BY e.idx"
    if filters.limit is not None:
        sql += f" LIMIT {int(filters.limit)}"
    return sql, params


def insert_plan(cur: Any, plan: AppendPlan, ph: str) -> None:
    """Write one append plan with an open cursor inside the caller's transaction."""
    e = plan.entry
    cur.execute(
        f"INSERT INTO audit_entries (idx, kind, created, record_id, payload, sha256, body, leaf)"
        f" VALUES ({', '.join([ph] * 8)})",
        (e.index, e.kind, e.created, e.record_id, e.payload, e.sha256, e.body, e.leaf),
    )
    if e.personal is not None:
        salt, data, subject = e.personal
        cur.execute(
            f"INSERT INTO audit_personal (idx, salt, data, subject) VALUES ({ph}, {ph}, {ph}, {ph})",
            (e.index, salt, data, subject),
        )
    if plan.nodes:
        cur.executemany(f"INSERT INTO audit_nodes (level, idx, hash) VALUES ({ph}, {ph}, {ph})", plan.nodes)
    for index in plan.erase:
        cur.execute(f"DELETE FROM audit_personal WHERE idx = {ph}", (index,))
    h = plan.head
    cur.execute(
        f"UPDATE audit_head SET size = {ph}, root = {ph}, frontier = {ph}, last_leaf = {ph}, note = {ph},"
        f" vkey = {ph} WHERE id = 1",
        (h.size, h.root, pack_frontier(h.frontier), h.last_leaf, h.note, h.vkey),
    )


def node_query(keys: Sequence[tuple[int, int]], ph: str) -> list[tuple[str, list[Any]]]:
    """Queries fetching the requested nodes: leaves from the entries table, the rest from nodes."""
    leaves = [i for level, i in keys if level == 0]
    inner = [(level, i) for level, i in keys if level > 0]
    out: list[tuple[str, list[Any]]] = []
    if leaves:
        out.append(
            (f"SELECT 0, idx, leaf FROM audit_entries WHERE idx IN ({', '.join([ph] * len(leaves))})", leaves)
        )
    if inner:
        cond = " OR ".join([f"(level = {ph} AND idx = {ph})"] * len(inner))
        out.append((f"SELECT level, idx, hash FROM audit_nodes WHERE {cond}", [x for k in inner for x in k]))
    return out


def redact_url(url: str) -> str:
    """The URL without its password, for messages and reports."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
