"""The Merkle tree against a literal transcription of RFC 6962 section 2.1."""

from __future__ import annotations

import hashlib

import pytest

from hallmark.audit._merkle import (
    EMPTY_ROOT,
    check_consistency,
    check_inclusion,
    consistency_path,
    frontier_root,
    hash_children,
    hash_leaf,
    inclusion_path,
    push_leaf,
    root_of,
)
from hallmark.errors import TamperError


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hash_leaf(d[0])
    k = 1 << ((n - 1).bit_length() - 1)
    return hash_children(mth(d[:k]), mth(d[k:]))


def rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return rfc_path(m, d[:k]) + [mth(d[k:])]
    return rfc_path(m - k, d[k:]) + [mth(d[:k])]


def rfc_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return rfc_subproof(m, d[:k], b) + [mth(d[k:])]
    return rfc_subproof(m - k, d[k:], False) + [mth(d[:k])]


def tree(n: int) -> tuple[list[bytes], dict[tuple[int, int], bytes]]:
    data = [f"entry {i}".encode() for i in range(n)]
    nodes: dict[tuple[int, int], bytes] = {}
    frontier: list[bytes] = []
    for i, d in enumerate(data):
        nodes[(0, i)] = hash_leaf(d)
        for level, idx, h in push_leaf(frontier, i, hash_leaf(d)):
            nodes[(level, idx)] = h
    return data, nodes


N = 33


def test_roots_match_rfc6962() -> None:
    data, _ = tree(N)
    assert root_of([]) == EMPTY_ROOT
    for n in range(N + 1):
        assert root_of(hash_leaf(d) for d in data[:n]) == mth(data[:n])


def test_inclusion_paths_match_rfc6962_and_verify() -> None:
    data, nodes = tree(N)
    get = lambda level, i: nodes[(level, i)]  # noqa: E731
    for n in range(1, N + 1):
        root = mth(data[:n])
        for m in range(n):
            path = inclusion_path(get, m, n)
            assert path == rfc_path(m, data[:n])
            check_inclusion(hash_leaf(data[m]), m, n, path, root)


def test_consistency_paths_match_rfc6962_and_verify() -> None:
    data, nodes = tree(N)
    get = lambda level, i: nodes[(level, i)]  # noqa: E731
    for n in range(0, N + 1):
        for m in range(0, n + 1):
            path = consistency_path(get, m, n)
            assert path == ([] if m in (0, n) else rfc_subproof(m, data[:n], True))
            check_consistency(m, n, mth(data[:m]), mth(data[:n]), path)


def test_frontier_root_of_empty_tree() -> None:
    assert frontier_root([]) == hashlib.sha256(b"").digest()


def test_bad_inclusion_proofs_are_rejected() -> None:
    data, nodes = tree(10)
    get = lambda level, i: nodes[(level, i)]  # noqa: E731
    root = mth(data)
    path = inclusion_path(get, 3, 10)
    with pytest.raises(TamperError, match="computed root does not match"):
        check_inclusion(hash_leaf(b"forged"), 3, 10, path, root)
    with pytest.raises(TamperError, match="computed root does not match"):
        check_inclusion(hash_leaf(data[3]), 3, 10, path, mth(data[:9]))
    with pytest.raises(TamperError, match="too few hashes"):
        check_inclusion(hash_leaf(data[3]), 3, 10, path[:-1], root)
    with pytest.raises(TamperError, match="too many hashes"):
        check_inclusion(hash_leaf(data[3]), 3, 10, path + [root], root)
    with pytest.raises(TamperError, match="outside a tree"):
        check_inclusion(hash_leaf(data[3]), 10, 10, path, root)
    with pytest.raises(TamperError, match="outside a tree"):
        inclusion_path(get, 10, 10)


def test_bad_consistency_proofs_are_rejected() -> None:
    data, nodes = tree(12)
    get = lambda level, i: nodes[(level, i)]  # noqa: E731
    old, new = mth(data[:5]), mth(data)
    path = consistency_path(get, 5, 12)
    with pytest.raises(TamperError, match="old checkpoint's root"):
        check_consistency(5, 12, mth(data[:4]), new, path)
    with pytest.raises(TamperError, match="new checkpoint's root"):
        check_consistency(5, 12, old, mth(data[:11]), path)
    with pytest.raises(TamperError, match="too few hashes"):
        check_consistency(5, 12, old, new, path[:-1])
    with pytest.raises(TamperError, match="too many hashes"):
        check_consistency(5, 12, old, new, path + [new])
    with pytest.raises(TamperError, match="larger than new size"):
        check_consistency(12, 5, new, old, path)
    with pytest.raises(TamperError, match="different root hashes"):
        check_consistency(5, 5, old, new, [])
    with pytest.raises(TamperError, match="expected no hashes for equal"):
        check_consistency(5, 5, old, old, [old])
    with pytest.raises(TamperError, match="expected no hashes from the empty"):
        check_consistency(0, 5, EMPTY_ROOT, old, [old])
    with pytest.raises(TamperError, match="no hashes"):
        check_consistency(5, 12, old, new, [])
    with pytest.raises(TamperError, match="cannot prove"):
        consistency_path(get, 6, 5)
