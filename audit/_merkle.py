"""The RFC 6962 Merkle tree: hashing, incremental roots, proof paths and their verification.

Leaf hash = SHA-256(0x00 || entry), node hash = SHA-256(0x01 || left || right).  Proof paths are
computed from a ``get(level, index)`` callable that returns the hash of the complete subtree of
2**level leaves starting at leaf ``index << level``; such subtrees never change once full, so a
store can keep them.  Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 and needs
nothing but hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from hallmark.errors import TamperError

EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeGetter = Callable[[int, int], bytes]


def hash_leaf(entry: bytes) -> bytes:
    """Return the RFC 6962 leaf hash of one serialised entry."""
    return hashlib.sha256(b"\x00" + entry).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def frontier_levels(size: int) -> list[int]:
    """Levels of the complete subtrees on the right edge of a tree of ``size`` leaves, left first."""
    return [bit for bit in range(size.bit_length() - 1, -1, -1) if size >> bit & 1]


def push_leaf(frontier: list[bytes], size: int, leaf: bytes) -> list[tuple[int, int, bytes]]:
    """Add ``leaf`` to ``frontier`` (a tree of ``size`` leaves) in place.

    Returns the complete subtrees this leaf finished, as ``(level, index, hash)``, so that a
    store can keep them for proofs.
    """
    node = leaf
    level = 0
    done: list[tuple[int, int, bytes]] = []
    new_size = size + 1
    while size >> level & 1:
        node = hash_children(frontier.pop(), node)
        level += 1
        done.append((level, (new_size >> level) - 1, node))
    frontier.append(node)
    return done


def frontier_root(frontier: list[bytes]) -> bytes:
    """Return the root hash of the tree whose right edge is ``frontier``."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = hash_children(left, root)
    return root


def root_of(leaves: Iterable[bytes]) -> bytes:
    """Return the root hash over leaf hashes (streaming, one node hash per leaf on average)."""
    frontier: list[bytes] = []
    size = 0
    for leaf in leaves:
        push_leaf(frontier, size, leaf)
        size += 1
    return frontier_root(frontier)


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(get: NodeGetter, lo: int, hi: int) -> bytes:
    """Return MTH(D[lo:hi]) where ``lo`` is aligned as RFC 6962's recursion aligns it."""
    n = hi - lo
    if n & (n - 1) == 0 and lo % n == 0:
        return get(n.bit_length() - 1, lo // n)
    k = _split(n)
    return hash_children(subtree_hash(get, lo, lo + k), subtree_hash(get, lo + k, hi))


def inclusion_path(get: NodeGetter, index: int, size: int) -> list[bytes]:
    """Return the RFC 6962 audit path for leaf ``index`` in the tree of the first ``size`` leaves."""
    if not 0 <= index < size:
        raise TamperError(f"index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(subtree_hash(get, lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree_hash(get, lo, lo + k))
            lo = lo + k
    path.reverse()
    return path


def consistency_path(get: NodeGetter, old_size: int, new_size: int) -> list[bytes]:
    """Return the RFC 6962 consistency proof between the trees of ``old_size`` and ``new_size``."""
    if not 0 <= old_size <= new_size:
        raise TamperError(f"cannot prove size {old_size} consistent with size {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    path: list[bytes] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                path.append(subtree_hash(get, lo, hi))
            break
        k = _split(n)
        if m <= k:
            path.append(subtree_hash(get, lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree_hash(get, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    path.reverse()
    return path


def check_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> None:
    """Raise TamperError unless ``path`` proves ``leaf`` at ``index`` in the tree with ``root``."""
    if not 0 <= index < size:
        raise TamperError(f"inclusion proof: index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise TamperError("inclusion proof: too many hashes for this tree size")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise TamperError("inclusion proof: too few hashes for this tree size")
    if r != root:
        raise TamperError("inclusion proof: computed root does not match the checkpoint's root hash")


def check_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: list[bytes]
) -> None:
    """Raise TamperError unless ``path`` proves the tree of ``old_size`` is a prefix of ``new_size``."""
    if not 0 <= old_size <= new_size:
        raise TamperError(f"consistency proof: old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if path:
            raise TamperError("consistency proof: expected no hashes for equal sizes")
        if old_root != new_root:
            raise TamperError("consistency proof: same size but different root hashes (a forked log)")
        return
    if old_size == 0:
        if path:
            raise TamperError("consistency proof: expected no hashes from the empty tree")
        return
    if not path:
        raise TamperError("consistency proof: no hashes")
    hashes = list(path)
    if old_size & (old_size - 1) == 0:
        hashes.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = hashes[0]
    for c in hashes[1:]:
        if sn == 0:
            raise TamperError("consistency proof: too many hashes")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise TamperError("consistency proof: too few hashes")
    if fr != old_root:
        raise TamperError("consistency proof: does not reproduce the old checkpoint's root hash")
    if sr != new_root:
        raise TamperError("consistency proof: does not reproduce the new checkpoint's root hash")
