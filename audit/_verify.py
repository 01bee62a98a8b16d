"""Verifying a whole log: the code behind ``AuditLog.verify`` and ``verify_log``.

Before reading an entry it checks that the tables are there and every stored value has the type
the store writes; then it holds the log to every signed checkpoint, those kept outside it first
(the home's checkpoint file, an auditor's copy: a log behind one was rolled back, a log that
disagrees with one forked), and one pass (``_scan``) re-derives every entry, the chain, the
personal-data commitments and the tree.  A second pass holds the search columns, the tree nodes
and the tree head to the entries, lists released files that are gone and manifests the log
lacks, and checks witness cosignatures.  A failure names the first bad index and why; nothing
a row holds can make it raise anything but the documented errors.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hallmark.errors import AuditError, TamperError

from ._checkpoint import (
    KEY_FILE,
    Checkpoint,
    CheckpointSigner,
    VerifierKey,
    parse_checkpoint,
    verify_checkpoint,
)
from ._cosign import WitnessKey, cosignature_time
from ._entry import LogCheck, MissingFile, WitnessCheck
from ._merkle import frontier_root
from ._pin import CheckpointFile
from ._scan import Scanned, Target, claimed_index, scan
from ._sql import TABLES
from ._sqlite import sqlite_path
from ._store import AuditStore, Filters, Head, OddRow
from ._stores import open_store, redact_url


@dataclass(frozen=True)
class Anchor:
    """A signed checkpoint kept outside the log, which the log must extend."""

    label: str  # how messages name it: "the home's checkpoint /path", "checkpoint file cp.txt"
    note: str


@dataclass(frozen=True)
class TrustedKey:
    key: VerifierKey | None
    source: str  # "argument", "key file", "log" or "" (an empty log needs no key)
    path: str | None = None


def verify_log(
    url: str,
    *,
    key_path: Path | None = None,
    verifier_key: str | None = None,
    checkpoint_file: Path | None = None,
    checkpoints: Mapping[str, str] | None = None,
    records: Iterable[str] | None = None,
    witnesses: Sequence[WitnessKey] | None = None,
    check_files: bool = True,
    check_index: bool = True,
) -> LogCheck:
    """Open the log at ``url`` read-only and verify it: nothing is created or written.

    ``checkpoint_file`` is the home's checkpoint file, ``checkpoints`` (label -> note) copies kept
    elsewhere: the log must extend each.  ``records`` are the record ids whose manifests are kept;
    ``witnesses`` must each have cosigned a checkpoint kept outside the log at least as new as the
    newest one.  A log that is gone (no file, no tables) while such a checkpoint says it had
    entries fails as rolled back; with no such checkpoint, a missing SQLite file is an AuditError
    (nothing to verify).  ``key_path`` defaults to ``keys/audit-checkpoint.key`` beside a SQLite file.
    """
    anchors = [Anchor(label, note) for label, note in (checkpoints or {}).items()]
    scheme = url.partition("://")[0].split("+")[0].lower()
    if scheme == "sqlite":
        path = sqlite_path(url)
        key_path = key_path if key_path is not None else path.parent / "keys" / KEY_FILE
        if not path.exists():
            size = max([_size(a.note) for a in anchors] + [_file_size(checkpoint_file)])
            if size:
                return LogCheck(
                    ok=False,
                    size=0,
                    first_bad_index=0,
                    reason=f"log rolled back from {size} to 0 entries: no audit log at {path}",
                )
    try:
        store = open_store(url, create=False, read_only=True)
    except TamperError as e:
        return LogCheck(ok=False, size=0, reason=str(e))
    try:
        return verify_store(
            store,
            key_path=key_path,
            verifier_key=verifier_key,
            anchors=anchors,
            checkpoint_file=checkpoint_file,
            records=records,
            witnesses=witnesses,
            check_files=check_files,
            check_index=check_index,
        )
    finally:
        store.close()


def _size(note: str) -> int:
    try:
        return parse_checkpoint(note)[0].size
    except TamperError:
        return 0


def _file_size(path: Path | None) -> int:
    try:
        cp = CheckpointFile(path).read() if path is not None else None
    except TamperError:
        return 0
    return cp.size if cp is not None else 0


class _Failed(Exception):
    def __init__(self, reason: str, index: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.index = index


def verify_store(
    store: AuditStore,
    *,
    key_path: Path | None,
    verifier_key: str | None = None,
    anchors: Sequence[Anchor] = (),
    checkpoint_file: Path | None = None,
    records: Iterable[str] | None = None,
    witnesses: Sequence[WitnessKey] | None = None,
    check_files: bool = True,
    check_index: bool = True,
) -> LogCheck:
    """Verify the log in ``store`` (see ``AuditLog.verify`` for the options).

    Checkpoints are checked with ``verifier_key`` if given, else with the key at ``key_path`` if
    that file exists, else with the key recorded in the log (and the result says so).
    """
    unchecked: list[str] = []
    outside = list(anchors)
    if checkpoint_file is not None:
        pinned = CheckpointFile(checkpoint_file)
        try:
            cp = pinned.read()
        except TamperError as e:
            return LogCheck(ok=False, size=0, reason=str(e))
        if cp is None:
            unchecked.append(
                f"rollback not checked: there is no checkpoint file at {checkpoint_file} (the next append"
                " writes it; `hallmark audit checkpoint --pin` writes it now from this log)"
            )
        else:
            outside.insert(0, Anchor(f"the home's checkpoint {checkpoint_file}", cp.note))
    if not outside and checkpoint_file is None:
        unchecked.append(
            "rollback not checked: no checkpoint kept outside the log was given (--checkpoint FILE)"
        )
    with store.snapshot():
        run = _Run(store, key_path=key_path, verifier_key=verifier_key, anchors=outside)
        try:
            check = run.verify(records, check_files=check_files, check_index=check_index)
            if witnesses is not None:
                check = replace(check, witnesses=run.witnesses(witnesses))
                failed = next((w for w in check.witnesses if not w.ok), None)
                if check.ok and failed is not None:
                    check = replace(check, ok=False, reason=failed.reason, root_hash="")
        except _Failed as e:
            check = LogCheck(
                ok=False, size=run.head.size if run.head else 0, first_bad_index=e.index, reason=e.reason
            )
        except TamperError as e:  # a store's own check of a row it reads
            check = LogCheck(ok=False, size=run.head.size if run.head else 0, reason=str(e))
        if not check.ok and "audit_meta" in store.tables():
            # A value of the wrong type is an edit by itself, and names its row better than what
            # it broke further on (an index stored as TEXT sorts after every number).  Looked for
            # only once something failed: a log that verifies has used every value it holds.
            odd = next(iter(store.odd_rows()), None)
            if odd is not None:
                edited = _odd_row(odd)
                check = replace(check, first_bad_index=edited.index, reason=edited.reason, witnesses=[])
    if run.key is not None and run.key.source == "log" and check.ok:
        unchecked.insert(
            0,
            "authenticity not checked: pass --key (the checkpoint key was read from the log itself,"
            " which whoever rewrote the log could have replaced)",
        )
    key = run.key
    return replace(
        check,
        key_source=key.source if key else "",
        key_path=key.path if key else None,
        verifier_key=str(key.key) if key and key.key else "",
        anchors=[a.label for a in outside],
        unchecked=unchecked if check.ok else [],
    )


class _Run:
    """One verification: the store, the trusted key and the outside checkpoints."""

    def __init__(
        self, store: AuditStore, *, key_path: Path | None, verifier_key: str | None, anchors: Sequence[Anchor]
    ) -> None:
        self.store = store
        self.key_path = key_path
        self.verifier_key = verifier_key
        self.anchors = anchors
        self.head: Head | None = None
        self.key: TrustedKey | None = None
        self.verified: list[tuple[Anchor, Checkpoint]] = []

    def _outside_size(self) -> int:
        return max((_size(a.note) for a in self.anchors), default=0)

    def _gone(self, what: str) -> _Failed:
        """A log whose structure is gone: a rollback to nothing when a checkpoint says otherwise."""
        size = self._outside_size()
        if size:
            return _Failed(f"log rolled back from {size} to 0 entries: {what}", 0)
        return _Failed(what)

    def _structure(self) -> tuple[str, Head]:
        missing = [t for t in TABLES if t not in self.store.tables()]
        if len(missing) == len(TABLES):
            raise self._gone(
                f"there are no audit tables in {redact_url(self.store.url)} (wiped or truncated)"
            )
        if missing:
            raise self._gone(f"the audit tables {', '.join(missing)} are missing (dropped)")
        origin = self.store.get_meta("origin")
        if origin is None:
            raise self._gone("the log's origin row is missing (audit_meta was edited)")
        if not isinstance(origin, str) or not origin or any(c.isspace() or c == "+" for c in origin):
            raise _Failed(f"the log's origin row was edited: {origin!r} is not a log origin")
        try:
            head = self.store.head()
        except TamperError as e:
            raise _Failed(str(e)) from e
        except AuditError as e:
            raise self._gone("the tree head row is missing (deleted)") from e
        self.head = head
        return origin, head

    def _trusted_key(self, origin: str, head: Head) -> TrustedKey:
        if self.verifier_key is not None:
            return TrustedKey(VerifierKey.parse(self.verifier_key), "argument")
        if self.key_path is not None and self.key_path.exists():
            signer = CheckpointSigner.from_file(self.key_path, name=origin)
            return TrustedKey(signer.verifier, "key file", str(self.key_path))
        if not head.vkey and not head.note and not self.anchors:
            return TrustedKey(None, "")  # nothing signed to check yet
        try:
            # No key here (a reader's machine): fall back on the key recorded at creation.
            return TrustedKey(VerifierKey.parse(head.vkey), "log")
        except TamperError as e:
            raise _Failed(f"the tree head row was edited: its key is not a verifier key ({e})") from e

    def _targets(self, origin: str, head: Head) -> dict[int, Target]:
        """Roots the recomputed tree must reach, by size, each from a verified signed note."""
        self.key = key = self._trusted_key(origin, head)
        for a in self.anchors:
            cp = parse_checkpoint(a.note)[0]  # anchors were parsed when read
            if cp.origin != origin:
                raise _Failed(f"the log was replaced: its origin {origin} is not {cp.origin} of {a.label}")
            if cp.size > head.size:
                raise _Failed(
                    f"log rolled back from {cp.size} to {head.size} entries: {a.label} covers {cp.size}",
                    head.size,
                )
        targets: dict[int, Target] = {}
        if key.key is None:
            return targets
        notes = [(a.note, a.label, True) for a in self.anchors]
        for size, note in self.store.checkpoints():
            try:
                stored = parse_checkpoint(note)[0].size
            except TamperError as e:
                raise _Failed(f"the checkpoint row of size {size} was edited: {e}") from e
            if stored != size:
                raise _Failed(f"the checkpoint row of size {size} was edited: its note is for size {stored}")
            notes.append((note, f"the checkpoint of size {size}", False))
        if not head.note:
            raise _Failed(f"the tree head of {head.size} entries is not signed")
        notes.append((head.note, "the signed tree head", False))
        for note, label, outside in notes:
            try:
                cp = verify_checkpoint(note, key.key, origin=origin)
            except TamperError as e:
                raise _Failed(f"{label}: {e}") from e
            if outside:
                self.verified.append((next(a for a in self.anchors if a.note == note), cp))
            if cp.size in targets and targets[cp.size].root != cp.root_hash:
                first = targets[cp.size]
                if first.outside:
                    raise _Failed(
                        f"log forked: {label} disagrees with {first.label} (both of size {cp.size})"
                    )
                raise _Failed(f"two signed checkpoints of size {cp.size} disagree (a forked log)")
            if cp.size not in targets or not targets[cp.size].outside:
                targets[cp.size] = Target(cp.root_hash, label, outside)
        signed = parse_checkpoint(head.note)[0]
        if signed.size != head.size or signed.root_hash != head.root:
            raise _Failed("the tree head row was edited: it does not match its signed checkpoint")
        if (head.vkey or head.size) and key.source != "log" and head.vkey != str(key.key):
            raise _Failed("the tree head row was edited: its key is not the log's checkpoint key")
        return targets

    def verify(self, records: Iterable[str] | None, *, check_files: bool, check_index: bool) -> LogCheck:
        origin, head = self._structure()
        targets = self._targets(origin, head)
        signed_size = max(targets) if targets else 0
        scanned = scan(self.store.rows(Filters()), self.store.iter_personal(), targets, signed_size)
        if scanned.failure is not None:
            index, reason = scanned.failure
            return LogCheck(
                ok=False, size=signed_size, first_bad_index=index, reason=reason, checked=scanned.size
            )
        if scanned.frontier != head.frontier or scanned.last_leaf != head.last_leaf:
            raise _Failed(
                "the tree head row was edited: its frontier or last leaf does not match the entries"
            )
        root = frontier_root(scanned.frontier)
        check = LogCheck(ok=True, size=scanned.size, root_hash=root.hex(), checked=scanned.size)
        if check_index:
            self._nodes(scanned)
        if check_files or check_index or records is not None:
            check = self._second_pass(check, records, check_files=check_files, check_index=check_index)
        return check

    def _nodes(self, scanned: Scanned) -> None:
        """Hold every stored tree node (proofs are built from them) to the recomputed tree."""
        levels = scanned.levels
        expected = sum(len(level) // 32 for level in levels[1:])
        count = 0
        for level, idx, stored in self.store.all_nodes():
            if type(level) is not int or type(idx) is not int or type(stored) is not bytes:
                raise _Failed(f"a tree node row was edited (level {level!r}, index {idx!r})")
            computed = (
                levels[level][32 * idx : 32 * idx + 32] if 0 < level < len(levels) and idx >= 0 else b""
            )
            if computed != stored:
                what = "does not match the entries" if computed else "is not part of the tree"
                raise _Failed(f"the tree node at level {level}, index {idx} was edited: it {what}")
            count += 1
        if count != expected:
            raise _Failed(f"tree nodes were deleted: {expected - count} of {expected} are missing")

    def _second_pass(
        self, check: LogCheck, records: Iterable[str] | None, *, check_files: bool, check_index: bool
    ) -> LogCheck:
        """Compare the search columns with the verified entries, look for released files, and
        collect the released record ids.  The store extracts the fields in SQL (JSON parsed in C),
        so this pass costs little beside the hashing one."""
        missing: list[MissingFile] = []
        released: set[str] = set()
        exists = os.path.exists
        full = check_files or records is not None
        for i, same, kind, record_id, path in self.store.body_columns(mismatches_only=not full):
            if check_index and not same:
                raise _Failed(f"entry {i} was edited: its search columns do not match the entry", i)
            if kind == "image.released":
                if records is not None and record_id is not None:
                    released.add(_record_key(record_id))
                if check_files and path is not None and not exists(path):
                    missing.append(MissingFile(index=i, record_id=record_id, path=path))
        check = replace(check, missing_files=missing if check_files else [])
        if records is not None:
            orphans = sorted({_record_key(r) for r in records} - released)
            if orphans:
                shown = ", ".join(orphans[:3]) + (f" and {len(orphans) - 3} more" if len(orphans) > 3 else "")
                return replace(
                    check,
                    ok=False,
                    root_hash="",
                    orphan_records=orphans,
                    reason=f"the manifest store holds {len(orphans)} record(s) the log lacks: {shown}"
                    " (entries were removed, or the log was rolled back)",
                )
        return check

    def witnesses(self, keys: Sequence[WitnessKey]) -> list[WitnessCheck]:
        """Each witness must have cosigned an outside checkpoint at least as new as the newest."""
        newest = max((cp.size for _, cp in self.verified), default=None)
        out = []
        for w in keys:
            best: tuple[int, int] | None = None
            problem = ""
            for _, cp in self.verified:
                try:
                    when = cosignature_time(cp.note, w)
                except TamperError as e:
                    problem = str(e)
                    continue
                if when is not None and (best is None or cp.size > best[0]):
                    best = (cp.size, when)
            if newest is None:
                reason = f"witness {w.name}: no checkpoint kept outside the log to check cosignatures on"
            elif best is None or best[0] < newest:
                got = f"it cosigned up to {best[0]} entries" if best else problem or "it cosigned none"
                reason = f"witness {w.name} has not cosigned a checkpoint of {newest} entries or more: {got}"
            else:
                out.append(WitnessCheck(name=w.name, ok=True, size=best[0], timestamp=best[1]))
                continue
            out.append(
                WitnessCheck(
                    name=w.name,
                    ok=False,
                    size=best[0] if best else None,
                    timestamp=best[1] if best else None,
                    reason=reason,
                )
            )
        return out


def _record_key(record_id: str) -> str:
    """Record ids compare as UUIDs when they are UUIDs (the manifest store spells them canonically)."""
    try:
        return str(uuid.UUID(record_id))
    except ValueError:
        return record_id


def _odd_row(odd: OddRow) -> _Failed:
    """Name the row whose value has the wrong type."""
    what = f"its {odd.column} is {odd.found}"
    key = odd.key
    if odd.table == "audit_entries":
        index = key if type(key) is int else claimed_index(odd.body)
        if index is not None:
            return _Failed(f"entry {index} was edited: {what}", index)
        return _Failed(f"an entry row was edited: {what}")
    if odd.table == "audit_personal":
        if type(key) is int:
            return _Failed(f"entry {key} was edited: in its personal data, {what}", key)
        return _Failed(f"a personal-data row was edited: {what}")
    names = {
        "audit_nodes": f"a tree node row (index {key!r})",
        "audit_checkpoints": f"the checkpoint row of size {key!r}",
        "audit_head": "the tree head row",
        "audit_meta": f"a row of the log's settings (key {key!r})",
    }
    return _Failed(f"{names.get(odd.table, odd.table)} was edited: {what}")
