"""Copying a log into another store, row for row: the data move behind ``AuditLog.migrate``.

Entries, personal data, tree nodes and checkpoints are copied as stored, never re-derived, so
the copy has the same origin, indexes, hashes and signed notes as the log it came from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

from hallmark.errors import AuditError

from ._entry import index_columns, rfc3339
from ._store import AuditStore, Filters, Head, NewEntry
from ._stores import open_store, redact_url


def _new_entries(store: AuditStore) -> Iterator[NewEntry]:
    """Every stored entry with the search columns and personal row it is inserted with."""
    personal = store.personal()
    for i, body, leaf in store.rows(Filters()):
        obj = json.loads(body)
        data = obj["data"]
        p = personal.get(i)
        subject = json.loads(p[1]).get("user") if p else None
        record_id, payload, sha256 = index_columns(data)
        yield NewEntry(
            index=i,
            kind=obj["kind"],
            created=obj["created"],
            record_id=record_id,
            payload=payload,
            sha256=sha256,
            body=bytes(body),
            leaf=bytes(leaf),
            personal=(p[0], p[1], str(subject) if subject is not None else None) if p else None,
        )


def copy_log(source: AuditStore, to_url: str, *, origin: str) -> Head:
    """Copy the log of ``origin`` in ``source`` into the empty store at ``to_url``; return the head copied.

    The caller verifies the source before and the copy after: this only moves rows.
    """
    with source.snapshot():
        head = source.head()
        rows = list(_new_entries(source))
        nodes = list(source.all_nodes())
        cps = [(s, n, rfc3339(None)) for s, n in source.checkpoints()]
    target = open_store(to_url)
    try:
        if target.initialize(origin=origin) != origin:
            if target.head().size:
                raise AuditError(f"target log {redact_url(to_url)} is not empty")
            target.set_meta("origin", origin)
        target.load(rows=rows, nodes=nodes, checkpoints=cps, head=replace(head))
        retention = source.get_meta("retention_days")
        if retention:
            target.set_meta("retention_days", str(int(retention)))
    finally:
        target.close()
    return head
