"""``AuditLog``: the append-only, tamper-evident log of everything hallmark decided.

Each entry is canonical JSON holding its index, kind, time, data, a salted commitment to the
personal data (kept in a separate table, so it can be erased) and the previous entry's leaf hash.
Entries are the leaves of an RFC 6962 Merkle tree; every append re-signs the tree head as a C2SP
checkpoint, so deleting the newest entries, editing one, or reordering them is detected.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from hallmark.errors import AuditError, TamperError

from ._checkpoint import Checkpoint, CheckpointSigner, parse_checkpoint
from ._entry import (
    EVENT_KINDS,
    AuditStats,
    Entry,
    LogCheck,
    MigrationResult,
    ascii_lower,
    canonical_json,
    decode_entry,
    index_columns,
    parse_time,
    rfc3339,
)
from ._merkle import (
    EMPTY_ROOT,
    NodeGetter,
    check_consistency,
    check_inclusion,
    consistency_path,
    frontier_root,
    hash_leaf,
    inclusion_path,
    push_leaf,
    subtree_hash,
)
from ._migrate import copy_log
from ._proofs import ConsistencyProof, InclusionProof
from ._query import compute_stats, matches, write_export
from ._sqlite import SqliteStore
from ._store import AppendPlan, AuditStore, Filters, Head, NewEntry
from ._stores import open_store, redact_url
from ._verify import verify_log

KEY_FILE = "audit-checkpoint.key"
_sha256 = hashlib.sha256


def _commit(salt: bytes, data: str) -> str:
    return _sha256(salt + data.encode()).hexdigest()


class AuditLog:
    """An append-only audit log in a store chosen by URL; use it as a context manager."""

    def __init__(
        self, store: AuditStore, *, key_path: Path | None, retention_days: int | None = None
    ) -> None:
        self._store = store
        self.origin = store.initialize(origin=f"hallmark/audit/{secrets.token_hex(8)}")
        self.key_path = key_path
        self._signer: CheckpointSigner | None = None
        self._signer_lock = threading.Lock()
        if retention_days is not None:
            if retention_days < 0:
                raise AuditError("retention_days must be 0 or more")
            if store.get_meta("retention_days") != str(retention_days):
                store.set_meta("retention_days", str(retention_days))

    @classmethod
    def open(
        cls, url: str, *, key_path: Path | None = None, retention_days: int | None = None, create: bool = True
    ) -> AuditLog:
        """Open (creating if needed) the log at ``url``: ``sqlite:///path`` or ``postgresql://...``.

        ``key_path`` is the Ed25519 checkpoint key (created 0600 on the first append if missing;
        default ``keys/audit-checkpoint.key`` beside a SQLite file).  ``retention_days``, when
        given, is stored with the log and makes ``erase`` refuse younger records unless forced.
        With ``create=False`` a missing SQLite file is an error instead of a new log.
        """
        store = open_store(url, create=create)
        if key_path is None and isinstance(store, SqliteStore):
            key_path = store.path.parent / "keys" / KEY_FILE
        try:
            return cls(store, key_path=key_path, retention_days=retention_days)
        except BaseException:
            store.close()
            raise

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._store.close()

    @property
    def url(self) -> str:
        return redact_url(self._store.url)

    @property
    def retention_days(self) -> int:
        value = self._store.get_meta("retention_days")
        return int(value) if value else 0

    # --- writing -------------------------------------------------------------------------

    def _signing_key(self, *, create: bool = True) -> CheckpointSigner:
        with self._signer_lock:
            return self._load_signer(create=create)

    def _load_signer(self, *, create: bool) -> CheckpointSigner:
        if self._signer is None:
            if self.key_path is None:
                raise AuditError(
                    "this audit store needs a checkpoint key path",
                    hint="Pass key_path=HALLMARK_HOME/keys/" + KEY_FILE,
                )
            self._signer = CheckpointSigner.from_file(self.key_path, name=self.origin, create=create)
        return self._signer

    def _check_key(self, head: Head, signer: CheckpointSigner) -> str:
        vkey = str(signer.verifier)
        if head.vkey and head.vkey != vkey:
            raise AuditError(
                f"checkpoint key {self.key_path} is not the key this log was created with",
                hint="Open the log with the key it was created with (HALLMARK_HOME/keys/" + KEY_FILE + ").",
            )
        return vkey

    def _append(
        self,
        kind: str,
        data: dict[str, Any],
        personal: dict[str, Any] | None,
        now: datetime | None,
        erase: Callable[[], list[int]] | None = None,
    ) -> Entry:
        if kind not in EVENT_KINDS:
            raise AuditError(f"unknown audit event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
        if not isinstance(data, dict):
            raise AuditError("audit data must be a dict")
        data_json = canonical_json(data)  # serialised (and refused) before taking the lock
        signer = self._signing_key()
        sealed: tuple[bytes, str, str | None] | None = None
        commitment = None
        if personal is not None:
            salt = os.urandom(16)
            text = canonical_json(personal).decode()
            user = personal.get("user")
            sealed = (salt, text, str(user) if user is not None else None)
            commitment = _commit(salt, text)
        record_id, payload, sha256 = index_columns(data)
        personal_json = b'"' + commitment.encode() + b'"' if commitment else b"null"

        def plan(head: Head) -> AppendPlan:
            vkey = self._check_key(head, signer)
            index = head.size
            created = rfc3339(now)
            # The top-level keys written in sorted order around the data serialised before the
            # lock: byte for byte what canonical_json gives (a test holds it to that), in less time
            # under the lock.
            body = b"".join(
                (
                    b'{"created":"',
                    created.encode(),
                    b'","data":',
                    data_json,
                    b',"index":',
                    str(index).encode(),
                    b',"kind":"',
                    kind.encode(),
                    b'","personal":',
                    personal_json,
                    b',"prev":',
                    b'"' + head.last_leaf.hex().encode() + b'"' if head.last_leaf else b"null",
                    b"}",
                )
            )
            leaf = hash_leaf(body)
            frontier = list(head.frontier)
            nodes = push_leaf(frontier, index, leaf)
            root = frontier_root(frontier)
            note = signer.sign(self.origin, index + 1, root).note
            entry = NewEntry(
                index=index,
                kind=kind,
                created=created,
                record_id=record_id,
                payload=payload,
                sha256=sha256,
                body=body,
                leaf=leaf,
                personal=sealed,
            )
            new_head = Head(
                size=index + 1, root=root, frontier=frontier, last_leaf=leaf, note=note, vkey=vkey
            )
            return AppendPlan(entry=entry, nodes=nodes, head=new_head, erase=erase() if erase else [])

        made = self._store.append(plan)
        e = made.entry
        return decode_entry(e.index, e.body, e.leaf, (e.personal[0], e.personal[1]) if e.personal else None)

    def append(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        personal: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Entry:
        """Append one event durably and return its entry (index, leaf hash, ...).

        ``personal`` (redacted prompt, user) is stored apart and committed to by a salted hash,
        so it can be erased later without breaking the tree.
        """
        return self._append(kind, data, personal, now)

    def erase(self, record_id: str, *, force: bool = False, now: datetime | None = None) -> Entry:
        """Delete the personal data of every entry of ``record_id`` and append a ``record.erased`` entry.

        Refuses records younger than the log's retention setting unless ``force``; the tree and
        chain still verify afterwards because entries hold only a salted commitment.
        """
        found = self.find(record_id=record_id)
        if not found:
            raise AuditError(f"no audit entry for record {record_id}")
        holders = [e.index for e in found if e.personal is not None]
        if not holders:
            raise AuditError(f"record {record_id} has no personal data left to erase")
        moment = now if now is not None else datetime.now(UTC)
        days = self.retention_days
        youngest = max(parse_time(e.created) for e in found)
        age = moment - youngest
        young = days > 0 and age.total_seconds() < days * 86400
        if young and not force:
            raise AuditError(
                f"record {record_id} is {age.days} days old; the retention setting keeps records {days} days",
                hint="Pass force=True (--force) to erase it anyway; the erasure is logged.",
            )
        data = {"record_id": record_id, "erased": holders, "forced": young}
        entry = self._append("record.erased", data, None, moment, erase=lambda: holders)
        self._store.scrub()
        return entry

    def checkpoint(self, *, now: datetime | None = None) -> Checkpoint:
        """Return the signed checkpoint of the current tree and keep it in the checkpoint history."""
        head = self._store.head()
        if head.size == 0 or not head.note:
            signer = self._signing_key()
            cp = signer.sign(self.origin, head.size, head.root)
        else:
            cp = parse_checkpoint(head.note)[0]
        self._store.add_checkpoint(cp.size, cp.note, rfc3339(now))
        return cp

    def verifier_key(self) -> str:
        """The signed-note verifier key (``NAME+HASH+KEY``) a third party needs to check proofs."""
        head = self._store.head()
        if head.vkey:
            return head.vkey
        return str(self._signing_key().verifier)

    # --- reading -------------------------------------------------------------------------

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
            yield decode_entry(i, bytes(body), bytes(leaf), personal.get(i))

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

    # --- proofs --------------------------------------------------------------------------

    def _with_nodes(self, compute: Callable[[NodeGetter], Any]) -> Any:
        # First pass records which subtree hashes the proof needs, second pass uses them:
        # one round trip to the store instead of one per hash.
        needed: set[tuple[int, int]] = set()

        def record(level: int, index: int) -> bytes:
            needed.add((level, index))
            return EMPTY_ROOT

        compute(record)
        got = self._store.nodes(sorted(needed))
        if len(got) != len(needed):
            raise TamperError(
                "the audit log's stored tree is missing nodes", hint="Run `hallmark audit verify`."
            )
        return compute(lambda level, index: got[(level, index)])

    def _checkpoint_for(self, size: int) -> Checkpoint:
        head = self._store.head()
        if size > head.size or size < 0:
            raise AuditError(f"no tree of size {size}: the log has {head.size} entries")
        if size == head.size and head.note:
            return parse_checkpoint(head.note)[0]
        for stored_size, note in self._store.checkpoints():
            if stored_size == size:
                return parse_checkpoint(note)[0]
        # The root of any earlier size follows from complete subtrees that never change, so
        # signing it now attests to the same tree that existed then.
        root = self._with_nodes(lambda get: subtree_hash(get, 0, size)) if size else EMPTY_ROOT
        signer = self._signing_key(create=False)  # a reader's machine must not grow a key
        self._check_key(head, signer)
        return signer.sign(self.origin, size, root)

    def prove(self, index: int, *, size: int | None = None) -> InclusionProof:
        """Return an inclusion proof for entry ``index`` in the tree of ``size`` (default: now)."""
        with self._store.snapshot():
            size = self._store.head().size if size is None else size
            if not 0 <= index < size:
                raise AuditError(f"no entry {index} in a tree of size {size}")
            cp = self._checkpoint_for(size)
            path = self._with_nodes(lambda get: inclusion_path(get, index, size))
            row = next(self._store.rows(Filters(start=index, limit=1)))
        body = bytes(row[1])
        # A proof that would not verify must never leave the log.
        check_inclusion(hash_leaf(body), index, size, path, cp.root_hash)
        return InclusionProof(
            index=index, tree_size=size, entry=body.decode(), hashes=path, checkpoint=cp.note
        )

    def prove_consistency(self, old_size: int, *, new_size: int | None = None) -> ConsistencyProof:
        """Return a proof that the tree of ``old_size`` is a prefix of the tree of ``new_size``."""
        with self._store.snapshot():
            new_size = self._store.head().size if new_size is None else new_size
            if not 0 <= old_size <= new_size:
                raise AuditError(f"cannot prove size {old_size} consistent with size {new_size}")
            old_cp, new_cp = self._checkpoint_for(old_size), self._checkpoint_for(new_size)
            path = self._with_nodes(lambda get: consistency_path(get, old_size, new_size))
        check_consistency(old_size, new_size, old_cp.root_hash, new_cp.root_hash, path)
        return ConsistencyProof(old_checkpoint=old_cp.note, new_checkpoint=new_cp.note, hashes=path)

    # --- verification --------------------------------------------------------------------

    def verify(
        self,
        *,
        check_files: bool = True,
        check_index: bool = True,
        trusted_checkpoint: str | None = None,
        verifier_key: str | None = None,
    ) -> LogCheck:
        """Re-derive every entry hash, the chain and the tree, and compare with signed checkpoints.

        Names the first bad index and why.  ``trusted_checkpoint`` is a note kept elsewhere (by an
        auditor): a log rolled back behind it fails.  ``check_files`` lists released images whose
        file is gone (not an integrity failure: a crash between commit and rename leaves one).
        ``check_index`` also holds the search columns (kind, time, record id, payload, sha256)
        to the entries, so that ``find`` cannot be misdirected.
        """
        return verify_log(
            self._store,
            origin=self.origin,
            key_path=self.key_path,
            check_files=check_files,
            check_index=check_index,
            trusted_checkpoint=trusted_checkpoint,
            verifier_key=verifier_key,
        )

    # --- moving --------------------------------------------------------------------------

    def migrate(self, to_url: str) -> MigrationResult:
        """Copy this log into the empty store at ``to_url`` and prove the copy has the same root."""
        check = self.verify(check_files=False)
        if not check.ok:
            raise TamperError(f"refusing to migrate a log that does not verify: {check.reason}")
        head = copy_log(self._store, to_url, origin=self.origin)
        with AuditLog.open(to_url, key_path=self.key_path) as copy:
            copied = copy.verify(
                check_files=False, trusted_checkpoint=head.note or None, verifier_key=head.vkey or None
            )
        if not copied.ok or copied.root_hash != check.root_hash:
            raise TamperError(f"the migrated log does not verify: {copied.reason or 'root hash differs'}")
        return MigrationResult(
            source=self.url, target=redact_url(to_url), size=copied.size, root_hash=copied.root_hash
        )
