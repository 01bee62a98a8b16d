"""Where entries live: the protocol every audit store implements and the rows it exchanges.

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
    """What one append (one entry, or a batch of consecutive entries) writes, in one transaction."""

    entries: list[NewEntry]
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


@dataclass(frozen=True)
class OddRow:
    """A stored value of the wrong type: its table, column, the type found and the row's key."""

    table: str
    column: str
    found: str
    key: Any
    body: Any = None  # the entry body of an audit_entries row, to name the entry by its own index


class AuditStore(Protocol):
    """The protocol every audit store implements (registered by URL scheme in ``STORES``)."""

    url: str

    def initialize(self, *, origin: str) -> str:
        """Create the tables if needed and return the log's origin (the stored one if it exists)."""
        ...

    def tables(self) -> set[str]:
        """The audit tables present (a store opened read-only on a wiped log may have none)."""
        ...

    def odd_rows(self) -> Iterator[OddRow]:
        """Stored values whose type is not the one the store writes (a database with dynamic
        typing, SQLite, accepts any); a store whose columns enforce their types yields none."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def append(self, plan: Callable[[Head], AppendPlan]) -> AppendPlan:
        """Lock the tree head, call ``plan`` with it, write what it returns (every entry of the
        batch, the tree nodes and the new head) in one transaction, commit durably."""
        ...

    def head(self) -> Head: ...

    def snapshot(self) -> AbstractContextManager[None]:
        """A consistent read view for several reads (verification, migration)."""
        ...

    def rows(self, filters: Filters) -> Iterator[Row]: ...

    def personal(self, indexes: Sequence[int] | None = None) -> dict[int, tuple[bytes, str]]: ...

    def iter_personal(self) -> Iterator[tuple[int, bytes, str, str | None]]:
        """Every personal-data row (index, salt, data, subject) in index order, streamed."""
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
