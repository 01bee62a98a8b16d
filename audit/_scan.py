"""The hot loop of verification: one pass over every stored entry and personal-data row.

It re-derives each leaf hash, the chain, the personal-data commitments and the tree, keeps every
complete subtree hash (so the stored tree nodes can be compared afterwards), and compares the
roots with the signed checkpoints it is given.  Every value a row holds is checked for the type
the store writes before it is used: an edited row is named, never a crash.
"""

from __future__ import annotations

import hashlib
import json
from binascii import hexlify
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._merkle import frontier_root
from ._sql import describe
from ._store import Row


@dataclass(frozen=True)
class Target:
    """A root the recomputed tree must reach at ``size``, from a verified signed note."""

    root: bytes
    label: str
    outside: bool  # kept outside the log (the home's file, an auditor's copy): a mismatch is a fork


@dataclass
class Scanned:
    """What one pass found: the entries read, the tree's right edge, every subtree hash, the
    first failure (index, reason) if any."""

    size: int = 0
    frontier: list[bytes] = field(default_factory=list)
    levels: list[bytearray] = field(default_factory=lambda: [bytearray()])
    failure: tuple[int, str] | None = None

    @property
    def last_leaf(self) -> bytes | None:
        return bytes(self.levels[0][-32:]) if self.size else None


class _Bad(Exception):
    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def claimed_index(body: Any) -> int | None:
    """The index an entry body claims for itself, if it still reads as an entry."""
    try:
        index = json.loads(body)["index"]
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None
    return index if type(index) is int else None


def _odd_entry(n: int, idx: Any, body: Any, leaf: Any) -> _Bad:
    at = idx if type(idx) is int else claimed_index(body)
    at = n if at is None else at
    for column, value in (("index", idx), ("body", body), ("leaf hash", leaf)):
        wanted = int if column == "index" else bytes
        if type(value) is not wanted:
            kind = "an INTEGER" if wanted is int else "a BLOB"
            return _Bad(at, f"entry {at} was edited: its {column} is {describe(value)}, not {kind}")
    return _Bad(at, f"entry {at} was edited")  # pragma: no cover - only called for an odd row


def _next_personal(rows: Iterator[Any]) -> tuple[int, bytes, str, str | None] | None:
    row = next(rows, None)
    if row is None:
        return None
    idx, salt, data, subject = row
    if type(idx) is not int:
        raise _Bad(0, f"a personal-data row was edited: its index is {describe(idx)}")
    if type(salt) is not bytes or type(data) is not str or not (subject is None or type(subject) is str):
        what = "salt" if type(salt) is not bytes else "data" if type(data) is not str else "subject"
        value = {"salt": salt, "data": data, "subject": subject}[what]
        raise _Bad(idx, f"entry {idx} was edited: the {what} of its personal data is {describe(value)}")
    return idx, salt, data, subject


def _subject_of(data: str) -> str | None:
    """The user column the store fills from personal data (what ``AuditLog.append`` writes)."""
    try:
        user = json.loads(data).get("user")
    except (ValueError, AttributeError):
        return None
    return str(user) if user is not None else None


def _erased_by(body: bytes, n: int) -> list[int]:
    """The entries before ``n`` whose personal data the record.erased entry ``body`` erased."""
    try:
        erased = json.loads(body)["data"]["erased"]
        return [x for x in erased if type(x) is int and x < n]
    except (ValueError, TypeError, KeyError):
        return []


def scan(
    rows: Iterator[Row], personal: Iterator[Any], targets: dict[int, Target], signed_size: int
) -> Scanned:
    """One pass over ``rows`` (index order) and ``personal`` (index order) against ``targets``."""
    sha = hashlib.sha256
    out = Scanned()
    frontier = out.frontier
    levels = out.levels
    leaves = levels[0]  # every leaf hash, 32 bytes each
    tail = b',"prev":null}'
    n = 0
    good_size = 0  # largest verified checkpoint size so far
    unaccounted: list[int] = []  # entries committing to personal data that has no row
    erased: set[int] = set()  # entries a record.erased entry says were erased

    # A root that disagrees with a checkpoint only says "something before here changed";
    # keep scanning, because a later row may name the exact place (an insertion shows
    # up in the row after it).
    rewritten: tuple[int, int, str] | None = None  # (checkpoint size, first unverified index, reason)

    def fail(index: int, reason: str) -> Scanned:
        if rewritten is not None and index >= rewritten[0]:
            _, index, reason = rewritten
        out.size = n
        out.failure = (index, reason)
        return out

    try:
        next_personal = _next_personal(personal)
        for idx, body, stored_leaf in rows:
            if type(idx) is not int or type(body) is not bytes or type(stored_leaf) is not bytes:
                raise _odd_entry(n, idx, body, stored_leaf)
            if idx != n:
                return fail(n, f"entry {n} is missing (the next stored entry is {idx})")
            leaf = sha(b"\x00" + body).digest()
            if leaf != stored_leaf:
                return fail(n, f"entry {n} was edited: it does not match its recorded leaf hash")
            # Entries are canonical JSON with sorted keys, so the top-level index, kind,
            # personal and prev are the last members: comparing bytes at known places is several
            # times faster than parsing, and the hashes already bind every byte.
            i = body.rfind(b',"index":')
            j = body.find(b',"kind":"', i)
            if i < 0 or j < 0:
                return fail(n, f"entry {n} is not a well-formed audit entry")
            if body[i + 9 : j] != b"%d" % n:
                try:
                    claimed = int(body[i + 9 : j])
                except ValueError:
                    return fail(n, f"entry {n} is not a well-formed audit entry")
                if 0 <= claimed < n and leaves[32 * claimed : 32 * claimed + 32] != leaf:
                    # The entry written as `claimed` now sits at n: entries were inserted from there.
                    return fail(
                        claimed, f"entries {claimed}..{n - 1} were inserted (entry {claimed} now sits at {n})"
                    )
                if 0 <= claimed < n:
                    return fail(n, f"entry {n} is a copy of entry {claimed}")
                return fail(n, f"entry {n} claims index {claimed} (entries were removed or reordered)")
            if not body.endswith(tail):
                m = body.rfind(b',"prev":')
                earlier = _find_leaf(leaves, body[m + 8 : -1]) if m >= 0 else -1
                if 0 <= earlier < n - 1:
                    return fail(
                        earlier + 1,
                        f"entries {earlier + 1}..{n - 1} were inserted (entry {n} chains to {earlier})",
                    )
                return fail(n, f"entry {n} does not chain to entry {n - 1} (previous hash differs)")
            if next_personal is not None and next_personal[0] <= n:
                p_index, salt, text, subject = next_personal
                if p_index < n:
                    return fail(p_index, f"personal data is stored for entry {p_index}, which does not exist")
                k = body.find(b'","personal":', j)
                committed = b'"' + sha(salt + text.encode()).hexdigest().encode() + b'"'
                if k < 0 or body[k + 13 : len(body) - len(tail)] != committed:
                    return fail(n, f"entry {n} was edited: its personal data does not match its commitment")
                if subject != _subject_of(text):
                    return fail(n, f"entry {n} was edited: its personal data's user column does not match it")
                next_personal = _next_personal(personal)
            elif body[len(body) - len(tail) - 15 : len(body) - len(tail)] != b'"personal":null':
                unaccounted.append(n)
            if body.startswith(b',"kind":"record.erased"', j):
                erased.update(_erased_by(body, n))
            node = leaf
            s = n
            level = 0
            while s & 1:
                node = sha(b"\x01" + frontier.pop() + node).digest()
                s >>= 1
                level += 1
                if level == len(levels):
                    levels.append(bytearray())
                levels[level] += node
            frontier.append(node)
            leaves += leaf
            tail = b',"prev":"' + hexlify(leaf) + b'"}'
            n += 1
            if n in targets and rewritten is None:
                target = targets[n]
                if frontier_root(frontier) != target.root:
                    what = (
                        f"log forked: its first {n} entries do not match {target.label}"
                        if target.outside
                        else f"the first {n} entries do not match {target.label}"
                    )
                    rewritten = (n, good_size, f"{what}: entries from {good_size} on were rewritten")
                else:
                    good_size = n
    except _Bad as e:
        return fail(e.index, e.reason)
    out.size = n
    if rewritten is not None:
        return fail(rewritten[1], rewritten[2])
    if n < signed_size:
        label = targets[signed_size].label
        return fail(
            n,
            f"log rolled back from {signed_size} to {n} entries: {label} covers {signed_size}"
            f" entries but only {n} are stored",
        )
    if n > signed_size:
        return fail(signed_size, f"entries from {signed_size} on are not covered by any signed checkpoint")
    if next_personal is not None:
        return fail(
            next_personal[0], f"personal data is stored for entry {next_personal[0]}, which does not exist"
        )
    for index in unaccounted:
        if index not in erased:
            return fail(
                index,
                f"entry {index} was edited: its personal data was deleted without a record.erased entry",
            )
    return out


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
