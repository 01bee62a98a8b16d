"""Reading the log: entries by index, record id, payload, sha256, time, user and content.

``AuditLog`` inherits these from ``LogReader``; they need only the store, never a key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from hallmark.errors import AuditError

from ._entry import AuditStats, Entry, ascii_lower, decode_entry, parse_time, rfc3339
from ._query import compute_stats, matches, write_export
from ._store import AuditStore, Filters


class LogReader:
    """The queries of an audit log over its store."""

    _store: AuditStore

    def __len__(self) -> int:
        return self._store.head().size

    def _entries_from(self, rows: Iterator[tuple[int, bytes, bytes]]) -> Iterator[Entry]:
        batch: list[tuple[int, bytes, bytes]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 500:
                yield from self._decode(batch)
                batch = []
        yield from self._decode(batch)

    def _decode(self, batch: list[tuple[int, bytes, bytes]]) -> Iterator[Entry]:
        if not batch:
            return
        personal = self._store.personal([i for i, _, _ in batch])
        for i, body, leaf in batch:
            yield decode_entry(i, body, leaf, personal.get(i))

    def get(self, index: int) -> Entry:
        """Return entry ``index``; AuditError if there is none."""
        found = list(self._entries_from(self._store.rows(Filters(start=index, limit=1))))
        if not found or found[0].index != index:
            raise AuditError(f"no audit entry at index {index} (log size {len(self)})")
        return found[0]

    def find(
        self,
        *,
        record_id: str | None = None,
        payload: str | None = None,
        sha256: str | None = None,
        kind: str | None = None,
    ) -> list[Entry]:
        """Entries by record id, watermark payload (hex), image sha256 or kind, oldest first."""
        if record_id is None and payload is None and sha256 is None and kind is None:
            raise AuditError("find needs a record id, payload, sha256 or kind")
        filters = Filters(
            record_id=record_id,
            payload=ascii_lower(payload) if payload else None,
            sha256=ascii_lower(sha256) if sha256 else None,
            kind=kind,
        )
        return list(self._entries_from(self._store.rows(filters)))

    def entries(
        self,
        *,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        user: str | None = None,
        kind: str | None = None,
        category: str | None = None,
        policy_digest: str | None = None,
        model: str | None = None,
        verdict: str | None = None,
        action: str | None = None,
        limit: int | None = None,
        start: int = 0,
    ) -> Iterator[Entry]:
        """Iterate entries oldest first, filtered by time range [since, until), user and content."""
        inner = any(x is not None for x in (category, policy_digest, model, verdict, action))
        filters = Filters(
            kind=kind,
            since=rfc3339(parse_time(since)) if since is not None else None,
            until=rfc3339(parse_time(until)) if until is not None else None,
            user=user,
            start=start,
            limit=None if inner else limit,
        )
        count = 0
        for e in self._entries_from(self._store.rows(filters)):
            if limit is not None and count >= limit:
                return
            if inner and not matches(
                e, category=category, policy_digest=policy_digest, model=model, verdict=verdict, action=action
            ):
                continue
            count += 1
            yield e

    def stats(self, **filters: Any) -> AuditStats:
        """Counts per kind, decision, category, policy, model and day (``entries`` filters apply)."""
        return compute_stats(self.entries(**filters))

    def export(
        self, out: IO[str], *, fmt: str = "jsonl", include_personal: bool = False, **filters: Any
    ) -> int:
        """Write entries to ``out`` as ``jsonl`` or ``csv``; personal data only when asked."""
        return write_export(self.entries(**filters), out, fmt=fmt, include_personal=include_personal)
