"""Verifying a whole log: the code behind ``AuditLog.verify``.

One pass re-derives every leaf hash, the chain, the personal-data commitments and the tree
from the stored rows and compares the roots with every signed checkpoint; a second pass holds
the search columns to the entries and looks for released files.  A failure names the first bad
index and why.
"""

from __future__ import annotations

import hashlib
import os
from binascii import hexlify
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from hallmark.errors import TamperError

from ._checkpoint import CheckpointSigner, VerifierKey, parse_checkpoint, verify_checkpoint
from ._entry import LogCheck, MissingFile
from ._merkle import frontier_root
from ._store import AuditStore, Filters, Head

_sha256 = hashlib.sha256


def verify_log(
    store: AuditStore,
    *,
    origin: str,
    key_path: Path | None,
    check_files: bool = True,
    check_index: bool = True,
    trusted_checkpoint: str | None = None,
    verifier_key: str | None = None,
) -> LogCheck:
    """Verify the log of ``origin`` in ``store`` (see ``AuditLog.verify`` for the options).

    Checkpoints are checked with ``verifier_key`` if given, else with the key at ``key_path`` if
    that file exists, else with the key recorded in the log when it was created.
    """
    with store.snapshot():
        head = store.head()
        try:
            targets = _targets(
                store, head, trusted_checkpoint, origin=origin, key_path=key_path, verifier_key=verifier_key
            )
        except TamperError as e:
            return LogCheck(ok=False, size=head.size, reason=str(e))
        signed_size = max(targets) if targets else 0
        check = _scan(store, targets, signed_size, store.iter_personal())
        if not check.ok or not (check_files or check_index):
            return check
        return _second_pass(store, check, check_files=check_files, check_index=check_index)


def _trusted_key(head: Head, *, origin: str, key_path: Path | None, verifier_key: str | None) -> VerifierKey:
    if verifier_key is not None:
        return VerifierKey.parse(verifier_key)
    if key_path is not None and key_path.exists():
        return CheckpointSigner.from_file(key_path, name=origin).verifier
    # No key file here (a reader's machine): fall back on the key recorded at creation.
    return VerifierKey.parse(head.vkey)


def _targets(
    store: AuditStore,
    head: Head,
    trusted: str | None,
    *,
    origin: str,
    key_path: Path | None,
    verifier_key: str | None,
) -> dict[int, tuple[bytes, str]]:
    """Roots the recomputed tree must reach, by size, each from a verified signed note."""
    targets: dict[int, tuple[bytes, str]] = {}
    if head.size == 0 and not head.note and not trusted:
        return targets
    if not head.note:
        raise TamperError(f"the tree head of {head.size} entries is not signed")
    key = _trusted_key(head, origin=origin, key_path=key_path, verifier_key=verifier_key)
    notes = [(n, f"checkpoint of size {s}") for s, n in store.checkpoints()]
    notes.append((head.note, "signed tree head"))
    if trusted:
        notes.append((trusted, "trusted checkpoint"))
    for note, label in notes:
        try:
            cp = verify_checkpoint(note, key, origin=origin)
        except TamperError as e:
            raise TamperError(f"{label}: {e}") from e
        if cp.size in targets and targets[cp.size][0] != cp.root_hash:
            raise TamperError(f"two signed checkpoints of size {cp.size} disagree (a forked log)")
        targets[cp.size] = (cp.root_hash, label)
    signed = parse_checkpoint(head.note)[0]
    if signed.size != head.size or signed.root_hash != head.root:
        raise TamperError("the tree head row does not match its signed checkpoint (edited)")
    return targets


def _scan(
    store: AuditStore,
    targets: dict[int, tuple[bytes, str]],
    signed_size: int,
    personal: Iterator[tuple[int, bytes, str]],
) -> LogCheck:
    sha = _sha256
    frontier: list[bytes] = []
    leaves = bytearray()  # every leaf hash, 32 bytes each: only read to localise a failure
    tail = b',"prev":null}'
    next_personal = next(personal, None)
    n = 0
    good_size = 0  # largest verified checkpoint size so far

    # A root that disagrees with a checkpoint only says "something before here changed";
    # keep scanning, because a later row may name the exact place (an insertion shows
    # up in the row after it).
    rewritten: tuple[int, int, str] | None = None  # (checkpoint size, first unverified index, reason)

    def bad(index: int, reason: str) -> LogCheck:
        if rewritten is not None and index >= rewritten[0]:
            _, index, reason = rewritten
        return LogCheck(ok=False, size=signed_size, first_bad_index=index, reason=reason, checked=n)

    for idx, body, stored_leaf in store.rows(Filters()):
        if idx != n:
            return bad(n, f"entry {n} is missing (the next stored entry is {idx})")
        leaf = sha(b"\x00" + body).digest()
        if leaf != stored_leaf:
            return bad(n, f"entry {n} does not match its recorded leaf hash (edited)")
        # Entries are canonical JSON with sorted keys, so the top-level index, kind,
        # personal and prev are the last members: comparing bytes at known places is several
        # times faster than parsing, and the hashes already bind every byte.
        i = body.rfind(b',"index":')
        j = body.find(b',"kind":"', i)
        if i < 0 or j < 0:
            return bad(n, f"entry {n} is not a well-formed audit entry")
        if body[i + 9 : j] != b"%d" % n:
            try:
                claimed = int(body[i + 9 : j])
            except ValueError:
                return bad(n, f"entry {n} is not a well-formed audit entry")
            if 0 <= claimed < n and leaves[32 * claimed : 32 * claimed + 32] != leaf:
                # The entry written as `claimed` now sits at n: entries were inserted from there.
                return bad(
                    claimed, f"entries {claimed}..{n - 1} were inserted (entry {claimed} now sits at {n})"
                )
            if 0 <= claimed < n:
                return bad(n, f"entry {n} is a copy of entry {claimed}")
            return bad(n, f"entry {n} claims index {claimed} (entries were removed or reordered)")
        if not body.endswith(tail):
            m = body.rfind(b',"prev":')
            earlier = _find_leaf(leaves, body[m + 8 : -1]) if m >= 0 else -1
            if 0 <= earlier < n - 1:
                return bad(
                    earlier + 1,
                    f"entries {earlier + 1}..{n - 1} were inserted (entry {n} chains to {earlier})",
                )
            return bad(n, f"entry {n} does not chain to entry {n - 1} (previous hash differs)")
        if next_personal is not None and next_personal[0] <= n:
            p_index, salt, text = next_personal
            if p_index < n:
                return bad(p_index, f"personal data is stored for entry {p_index}, which does not exist")
            k = body.find(b'","personal":', j)
            committed = b'"' + sha(salt + text.encode()).hexdigest().encode() + b'"'
            if k < 0 or body[k + 13 : len(body) - len(tail)] != committed:
                return bad(n, f"personal data of entry {n} does not match its commitment (edited)")
            next_personal = next(personal, None)
        node = leaf
        s = n
        while s & 1:
            node = sha(b"\x01" + frontier.pop() + node).digest()
            s >>= 1
        frontier.append(node)
        leaves += leaf
        tail = b',"prev":"' + hexlify(leaf) + b'"}'
        n += 1
        if n in targets and rewritten is None:
            root, label = targets[n]
            if frontier_root(frontier) != root:
                rewritten = (
                    n,
                    good_size,
                    f"the first {n} entries do not match the {label}: entries from {good_size} on were rewritten",
                )
            else:
                good_size = n
    if rewritten is not None:
        return bad(rewritten[1], rewritten[2])
    if n < signed_size:
        label = targets[signed_size][1]
        return bad(n, f"log truncated: the {label} covers {signed_size} entries but only {n} are stored")
    if n > signed_size:
        return bad(signed_size, f"entries from {signed_size} on are not covered by any signed checkpoint")
    if next_personal is not None:
        return bad(
            next_personal[0],
            f"personal data is stored for entry {next_personal[0]}, which does not exist",
        )
    root = frontier_root(frontier)
    return LogCheck(ok=True, size=n, reason="", root_hash=root.hex(), checked=n)


def _second_pass(store: AuditStore, check: LogCheck, *, check_files: bool, check_index: bool) -> LogCheck:
    """Compare the search columns with the verified entries, and look for released files.

    The store extracts the fields from the entry bodies in SQL (JSON parsed in C), so this
    pass costs little beside the hashing one.
    """
    missing: list[MissingFile] = []
    exists = os.path.exists
    for i, same, kind, record_id, path in store.body_columns(mismatches_only=not check_files):
        if check_index and not same:
            return replace(
                check,
                ok=False,
                first_bad_index=i,
                reason=f"the search columns of entry {i} do not match the entry (edited)",
                root_hash="",
            )
        if check_files and kind == "image.released" and path is not None and not exists(path):
            missing.append(MissingFile(index=i, record_id=record_id, path=path))
    return replace(check, missing_files=missing)


def _find_leaf(leaves: bytearray, prev: bytes) -> int:
    """Index of the leaf whose hash ``prev`` (a quoted hex string) names, or -1."""
    try:
        wanted = bytes.fromhex(prev[1:-1].decode())
    except ValueError:
        return -1
    pos = leaves.find(wanted)
    while pos != -1 and pos % 32:
        pos = leaves.find(wanted, pos + 1)
    return pos // 32 if pos != -1 else -1
