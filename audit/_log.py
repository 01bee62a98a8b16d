"""``AuditLog``: the append-only, tamper-evident log of everything hallmark decided.

Each entry is canonical JSON holding its index, kind, time, data, a salted commitment to the
personal data (kept in a separate table, so it can be erased) and the previous entry's leaf hash.
Entries are the leaves of an RFC 6962 Merkle tree; every append re-signs the tree head as a C2SP
checkpoint, so deleting the newest entries, editing one, or reordering them is detected.  Opened
with a checkpoint file, every append also moves that file (kept outside the database) forward, so
that a database rolled back to an older state that verifies on its own is caught too.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from hallmark.errors import AuditError, TamperError

from ._checkpoint import KEY_FILE, Checkpoint, CheckpointSigner, parse_checkpoint
from ._cosign import WitnessKey
from ._entry import Entry, LogCheck, MigrationResult, decode_entry, parse_time, rfc3339
from ._group import AuditEvent, GroupCommit, Prepared, base_of, plan_batch, prepare
from ._merkle import (
    EMPTY_ROOT,
    NodeGetter,
    check_consistency,
    check_inclusion,
    consistency_path,
    hash_leaf,
    inclusion_path,
    subtree_hash,
)
from ._migrate import copy_log
from ._pin import CheckpointFile, extended_by
from ._proofs import ConsistencyProof, InclusionProof
from ._reader import LogReader
from ._sqlite import SqliteStore
from ._store import AppendPlan, AuditStore, Filters, Head, NewEntry
from ._stores import open_store, redact_url
from ._verify import Anchor, verify_store


class AuditLog(LogReader):
    """An append-only audit log in a store chosen by URL; use it as a context manager."""

    def __init__(
        self,
        store: AuditStore,
        *,
        key_path: Path | None,
        retention_days: int | None = None,
        checkpoint_path: Path | None = None,
        read_only: bool = False,
    ) -> None:
        self._store = store
        self.key_path = key_path
        self.checkpoint_path = checkpoint_path
        self._pin = CheckpointFile(checkpoint_path) if checkpoint_path is not None else None
        self._signer: CheckpointSigner | None = None
        self._signer_lock = threading.Lock()
        self._group = GroupCommit(self._commit)
        pinned = self._pin.read() if self._pin is not None else None
        if pinned is not None and self._pin is not None:
            self._pin.check_log(store, pinned)  # before anything could be written
        if read_only:
            present = store.get_meta("origin") if "audit_meta" in store.tables() else None
            if present is None:
                raise AuditError(f"no audit log in {redact_url(store.url)}")
            self.origin = present
        else:
            self.origin = store.initialize(origin=f"hallmark/audit/{secrets.token_hex(8)}")
        if retention_days is not None and not read_only:
            if retention_days < 0:
                raise AuditError("retention_days must be 0 or more")
            if store.get_meta("retention_days") != str(retention_days):
                store.set_meta("retention_days", str(retention_days))

    @classmethod
    def open(
        cls,
        url: str,
        *,
        key_path: Path | None = None,
        retention_days: int | None = None,
        create: bool = True,
        checkpoint_path: Path | None = None,
        read_only: bool = False,
    ) -> AuditLog:
        """Open (creating if needed) the log at ``url``: ``sqlite:///path`` or ``postgresql://...``.

        ``key_path`` is the Ed25519 checkpoint key (created 0600 on the first append if missing;
        default ``keys/audit-checkpoint.key`` beside a SQLite file).  ``retention_days``, when
        given, is stored with the log and makes ``erase`` refuse younger records unless forced.
        With ``create=False`` a missing SQLite file is an error instead of a new log.
        ``checkpoint_path`` names the file, outside the database, that every append moves
        forward to the newest signed checkpoint; while it holds one, the log is never created
        anew, and an append to a log that no longer extends it fails.  ``read_only`` opens the
        store so that nothing can be written (``verify_log`` does).
        """
        pin = CheckpointFile(checkpoint_path) if checkpoint_path is not None else None
        pinned = pin.read() if pin is not None else None
        if pin is not None and pinned is not None and not read_only:
            # Looked at read-only first: a writer must not so much as create a table in a log
            # that was wiped or replaced behind the checkpoint file.
            try:
                probe = open_store(url, create=False, read_only=True)
            except AuditError as e:
                if not str(e).startswith("no audit log"):
                    raise
                raise TamperError(
                    f"{e}, but the checkpoint file {checkpoint_path} records {pinned.size} entries there:"
                    " the log was deleted",
                    hint="Restore the audit database; to start a new log on purpose, move the checkpoint file away.",
                ) from e
            with closing(probe):
                pin.check_log(probe, pinned)
        store = open_store(url, create=create and pinned is None, read_only=read_only)
        if key_path is None and isinstance(store, SqliteStore):
            key_path = store.path.parent / "keys" / KEY_FILE
        try:
            return cls(
                store,
                key_path=key_path,
                retention_days=retention_days,
                checkpoint_path=checkpoint_path,
                read_only=read_only,
            )
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

    def _commit(self, take: Callable[[], list[Prepared]]) -> list[NewEntry]:
        """Append the events ``take()`` gives, once the head is locked, in one transaction (one
        tree update, one signed checkpoint) and move the checkpoint file forward once; called by
        one thread at a time (``GroupCommit``)."""
        signer = self._signing_key()
        # Read before the lock: the file is written after each commit, so it can be behind the
        # head this batch will see, never ahead of it, unless the log was rolled back.
        pinned = self._pin.read() if self._pin is not None else None
        before: list[Checkpoint] = []

        def plan(head: Head) -> AppendPlan:
            vkey = self._check_key(head, signer)
            base = base_of(self.origin, head)
            if pinned is not None and self._pin is not None:
                self._pin.check_not_behind(pinned, base.size, base.root_hash)
            before.append(base)
            return plan_batch(head, take(), origin=self.origin, signer=signer, vkey=vkey)

        made = self._store.append(plan)
        if self._pin is not None:
            self._advance(made.head.note, before[-1])
        return made.entries

    def _submit(self, items: list[Prepared]) -> list[Entry]:
        rows = self._group.submit(items)
        return [
            decode_entry(e.index, e.body, e.leaf, (e.personal[0], e.personal[1]) if e.personal else None)
            for e in rows
        ]

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
        so it can be erased later without breaking the tree.  Safe to call from many threads at
        once: concurrent appends are committed together in batches (group commit), and each
        returns once the transaction holding its entry has committed.
        """
        return self._submit([prepare(kind, data, personal, now)])[0]

    def append_many(self, events: Iterable[AuditEvent]) -> list[Entry]:
        """Append ``events`` in order, all in one transaction, and return their entries.

        The entries are exactly those that appending the events one by one would give (consecutive
        indexes, each chained to the one before); either all of them are in the log when this
        returns or, if it raises, none.  Keep a call to a few thousand events: they are held in
        memory and the log's write lock is held while they are written.
        """
        items = []
        for event in events:
            if not isinstance(event, AuditEvent):
                raise AuditError(f"append_many takes AuditEvent items, not {type(event).__name__}")
            items.append(prepare(event.kind, event.data, event.personal, event.now))
        return self._submit(items)

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
        entry = self._submit([prepare("record.erased", data, None, moment, erase=lambda: holders)])[0]
        self._store.scrub()
        return entry

    def checkpoint(self, *, now: datetime | None = None) -> Checkpoint:
        """Return the signed checkpoint of the current tree and keep it in the checkpoint history
        (with the witnesses' cosignatures when the checkpoint file holds the same tree)."""
        head = self._store.head()
        if head.size == 0 or not head.note:
            signer = self._signing_key()
            cp = signer.sign(self.origin, head.size, head.root)
        else:
            cp = parse_checkpoint(head.note)[0]
        self._store.add_checkpoint(cp.size, cp.note, rfc3339(now))
        pinned = self._pin.read() if self._pin is not None else None
        if pinned is not None and pinned.note.partition("\n\n")[0] == cp.note.partition("\n\n")[0]:
            return pinned  # the same tree, with the cosignatures witnesses added to the file
        return cp

    def _advance(self, note: str, built_on: Checkpoint | None = None) -> bool:
        """Move the checkpoint file forward to ``note`` if the tree grew and extends the file's."""
        assert self._pin is not None
        return self._pin.advance(
            note,
            extends=extended_by(
                parse_checkpoint(note)[0],
                built_on=built_on,
                path=lambda old, new: self._with_nodes(lambda get: consistency_path(get, old, new)),
            ),
        )

    def pin(self) -> Checkpoint:
        """Write the signed tree head to the checkpoint file when the file is missing or older.

        For a home upgraded from a version without the file, or a file lost: the log is verified
        first, with the checkpoint key file (not a key read from the log), and the file only ever
        moves forward.  Returns the checkpoint the file holds afterwards.
        """
        if self._pin is None:
            raise AuditError("this log was opened without a checkpoint file path")
        check = self.verify(check_files=False)
        if not check.ok:
            raise TamperError(f"refusing to pin a log that does not verify: {check.reason}")
        if check.key_source == "log":
            raise AuditError(
                f"the checkpoint key {self.key_path} is not here: a checkpoint is pinned only with it",
                hint="Run this where the log's checkpoint key is.",
            )
        head = self._store.head()
        if head.note:
            self._advance(head.note)
        pinned = self._pin.read()
        if pinned is None:
            raise AuditError("the log is empty: nothing to pin yet")
        return pinned

    def verifier_key(self) -> str:
        """The signed-note verifier key (``NAME+HASH+KEY``) a third party needs to check proofs."""
        head = self._store.head()
        if head.vkey:
            return head.vkey
        return str(self._signing_key().verifier)

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
        checkpoints: Mapping[str, str] | None = None,
        checkpoint_file: Path | None | bool = True,
        records: Iterable[str] | None = None,
        witnesses: Sequence[WitnessKey] | None = None,
    ) -> LogCheck:
        """Re-derive every entry hash, the chain and the tree, and compare with signed checkpoints.

        Names the first bad index and why.  ``trusted_checkpoint`` and ``checkpoints`` (label ->
        note) are notes kept elsewhere (by an auditor), as is ``checkpoint_file`` (default: the one
        the log was opened with): a log behind one fails as rolled back, a log disagreeing with one
        as forked.  ``records`` are record ids whose manifests are kept: one the log lacks fails.
        ``witnesses`` must each have cosigned a checkpoint kept outside the log at least as new as
        the newest such checkpoint.  ``check_files`` lists released images whose file is gone (not
        an integrity failure: a crash between commit and rename leaves one).  ``check_index``
        also holds the search columns and tree nodes to the entries, so that ``find`` and proofs
        cannot be misdirected.  The result says which key it trusted and where it came from.
        """
        anchors = [Anchor(label, note) for label, note in (checkpoints or {}).items()]
        if trusted_checkpoint:
            anchors.append(Anchor("the trusted checkpoint", trusted_checkpoint))
        pin = self.checkpoint_path if checkpoint_file is True else checkpoint_file or None
        return verify_store(
            self._store,
            key_path=self.key_path,
            verifier_key=verifier_key,
            anchors=anchors,
            checkpoint_file=pin if isinstance(pin, Path) else None,
            records=records,
            witnesses=witnesses,
            check_files=check_files,
            check_index=check_index,
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
