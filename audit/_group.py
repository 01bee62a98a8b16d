"""Group commit: concurrent appends sequenced into batches, one transaction and one signed head each.

An append does its own serialising and validation in its caller's thread (``prepare``), then
queues.  The first thread to find no batch in flight becomes the leader: once it holds the
store's lock on the tree head, it takes every request queued so far (up to ``MAX_BATCH``
entries, a request whole), commits them as one batch, and hands each waiter its entries.  Requests that queue meanwhile form the next batch, so there is
no wait for a batch to fill: a lone append commits at once, and under load each fsync, tree
update and checkpoint signature is shared by everything that arrived during the previous one.
A waiter returns only after the transaction holding its entries has committed; if the batch
fails, every waiter in it gets the error and none of its entries is in the log.  Across
processes nothing changes: each batch takes the store's lock on the tree head, as single
appends always did, so processes interleave whole batches.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from os import urandom
from typing import Any

from hallmark.errors import AuditError

from ._checkpoint import Checkpoint, CheckpointSigner
from ._entry import EVENT_KINDS, canonical_json, entry_bytes, index_columns, rfc3339
from ._merkle import frontier_root, hash_leaf, push_leaf
from ._store import AppendPlan, Head, NewEntry

MAX_BATCH = 2048  # entries per combined transaction: bounds a batch's memory and lock time


@dataclass(frozen=True)
class AuditEvent:
    """One event for ``AuditLog.append_many``: the arguments ``append`` takes, kept together."""

    kind: str
    data: dict[str, Any]
    personal: dict[str, Any] | None = None
    now: datetime | None = None


@dataclass
class Prepared:
    """One event serialised and checked outside any lock; only its index, time and chain link
    are left to fill in once the head is locked."""

    kind: str
    data_json: bytes
    personal_json: bytes
    sealed: tuple[bytes, str, str | None] | None
    columns: tuple[str | None, str | None, str | None]
    now: datetime | None
    erase: Callable[[], list[int]] | None = None


def prepare(
    kind: str,
    data: dict[str, Any],
    personal: dict[str, Any] | None,
    now: datetime | None,
    erase: Callable[[], list[int]] | None = None,
) -> Prepared:
    """Check and serialise one event; ``personal`` is sealed under a fresh salt and committed to."""
    if kind not in EVENT_KINDS:
        raise AuditError(f"unknown audit event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
    if not isinstance(data, dict):
        raise AuditError("audit data must be a dict")
    if now is not None and now.tzinfo is None:  # refused here, not in the batch of others
        raise AuditError("audit timestamps must be timezone-aware", hint="Pass now=datetime.now(UTC).")
    data_json = canonical_json(data)
    sealed = None
    personal_json = b"null"
    if personal is not None:
        salt = urandom(16)
        text = canonical_json(personal).decode()
        user = personal.get("user")
        sealed = (salt, text, str(user) if user is not None else None)
        personal_json = b'"' + sha256(salt + text.encode()).hexdigest().encode() + b'"'
    return Prepared(kind, data_json, personal_json, sealed, index_columns(data), now, erase)


def plan_batch(
    head: Head, items: list[Prepared], *, origin: str, signer: CheckpointSigner, vkey: str
) -> AppendPlan:
    """The rows of ``items`` appended in order to the tree of ``head``: each entry exactly what a
    one-by-one append would give (its index, its link to the previous leaf), then one signed
    checkpoint for the tree with all of them."""
    frontier = list(head.frontier)
    size = head.size
    prev = head.last_leaf
    entries: list[NewEntry] = []
    nodes: list[tuple[int, int, bytes]] = []
    erase: list[int] = []
    for item in items:
        created = rfc3339(item.now)
        body = entry_bytes(created, item.data_json, size, item.kind, item.personal_json, prev)
        leaf = hash_leaf(body)
        nodes += push_leaf(frontier, size, leaf)
        record_id, payload, digest = item.columns
        entries.append(
            NewEntry(
                index=size,
                kind=item.kind,
                created=created,
                record_id=record_id,
                payload=payload,
                sha256=digest,
                body=body,
                leaf=leaf,
                personal=item.sealed,
            )
        )
        if item.erase is not None:
            erase += item.erase()
        size += 1
        prev = leaf
    root = frontier_root(frontier)
    note = signer.sign(origin, size, root).note
    new_head = Head(size=size, root=root, frontier=frontier, last_leaf=prev, note=note, vkey=vkey)
    return AppendPlan(entries=entries, nodes=nodes, head=new_head, erase=erase)


def base_of(origin: str, head: Head) -> Checkpoint:
    """The (unsigned) checkpoint of the tree a batch is built on."""
    return Checkpoint(origin, head.size, frontier_root(head.frontier), "")


@dataclass
class _Request:
    items: list[Prepared]
    done: bool = False  # committed, or failed (``error``)
    lead: bool = False  # this request's thread commits the next batch
    entries: list[NewEntry] = field(default_factory=list)
    error: BaseException | None = None
    woken: threading.Event = field(default_factory=threading.Event)


class GroupCommit:
    """Sequences the appends of one process's threads into batches committed by ``commit``.

    ``commit(take)`` locks the tree head, calls ``take()`` once for the events of the batch,
    writes them in one transaction and returns their rows in order; it is only ever called by one
    thread at a time, the leader.  A waiting thread is woken only when its request is done or when
    it is handed the lead (its request being the oldest queued), so a batch wakes the threads it
    served and one more, not every waiting thread.
    """

    def __init__(self, commit: Callable[[Callable[[], list[Prepared]]], list[NewEntry]]) -> None:
        self._commit = commit
        self._lock = threading.Lock()
        self._queue: deque[_Request] = deque()
        self._leading = False

    def submit(self, items: list[Prepared]) -> list[NewEntry]:
        """Commit ``items`` (together, in one transaction) and return their rows once durable."""
        if not items:
            return []
        req = _Request(items)
        with self._lock:
            self._queue.append(req)
            if not self._leading:
                self._leading = req.lead = True
        if not req.lead:
            try:
                req.woken.wait()
            except BaseException:
                self._abandon(req)
                raise
        while not req.done:
            self._lead(req)
        if req.error is not None:
            raise req.error
        return req.entries

    def _lead(self, req: _Request) -> None:
        """Commit the oldest queued requests as one batch; hand the lead on once ``req`` is done."""
        batch: list[_Request] = []

        def take() -> list[Prepared]:
            # Called by ``commit`` once it holds the store's lock on the tree head: whatever
            # queued while it waited for that lock (other processes' batches) joins this batch.
            with self._lock:
                batch.extend(self._take())
            return [item for r in batch for item in r.items]

        rows, error, stop = self._run(take)
        if not batch:  # it failed before taking anything (no key, no connection): the oldest get it
            with self._lock:
                batch.extend(self._take())
        wake = [r for r in batch if r is not req]
        with self._lock:
            at = 0
            for r in batch:
                r.entries, r.error, r.done = rows[at : at + len(r.items)], error, True
                at += len(r.items)
            if stop is not None and req in self._queue:
                self._queue.remove(req)  # not acknowledged: the interrupt is raised instead
            if req.done or stop is not None:
                wake += self._hand_on()
        for r in wake:
            r.woken.set()
        if stop is not None:  # Ctrl-C in the leader: the others go on, it is raised here
            raise stop

    def _hand_on(self) -> list[_Request]:
        """Give the lead to the oldest queued request (called under the lock); the one to wake."""
        if self._queue:
            self._queue[0].lead = True
            return [self._queue[0]]
        self._leading = False
        return []

    def _abandon(self, req: _Request) -> None:
        """A waiter interrupted (Ctrl-C): its request leaves the queue if no batch has taken it
        yet, and a lead handed to it goes on to the next, so that no other thread waits forever."""
        with self._lock:
            if req in self._queue:
                self._queue.remove(req)
            wake = self._hand_on() if req.lead and not req.done else []
        for r in wake:
            r.woken.set()

    def _take(self) -> list[_Request]:
        """The oldest requests, up to ``MAX_BATCH`` entries, always at least one whole."""
        batch: list[_Request] = []
        count = 0
        while self._queue and (not batch or count + len(self._queue[0].items) <= MAX_BATCH):
            batch.append(self._queue.popleft())
            count += len(batch[-1].items)
        return batch

    def _run(
        self, take: Callable[[], list[Prepared]]
    ) -> tuple[list[NewEntry], BaseException | None, BaseException | None]:
        """The batch's rows, or the error every waiter in it gets (and an interrupt to re-raise)."""
        try:
            return self._commit(take), None, None
        except Exception as e:  # the whole batch failed: none of it was acknowledged
            return [], e, None
        except BaseException as e:
            error = AuditError("the batch holding this append was interrupted; it may not be in the log")
            error.__cause__ = e
            return [], error, e
