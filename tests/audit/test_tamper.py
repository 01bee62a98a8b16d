"""At least 500 random edits of a stored log are each detected, naming the first bad index."""

from __future__ import annotations

import random
from pathlib import Path

from hallmark.audit import AuditLog, canonical_json
from hallmark.audit._merkle import hash_leaf

N = 40
MUTATIONS = 520


def first_difference(original: list[tuple[bytes, bytes]], mutated: list[tuple[bytes, bytes]]) -> int:
    for i, (a, b) in enumerate(zip(original, mutated, strict=False)):
        if a != b:
            return i
    return min(len(original), len(mutated))


def mutate(rng: random.Random, rows: list[tuple[bytes, bytes]]) -> tuple[str, list[tuple[int, bytes, bytes]]]:
    """Return (what, new rows as (index, body, leaf)) after one random edit."""
    out = list(rows)
    what = rng.choice(
        ["byte", "byte", "leaf-byte", "delete", "delete-renumber", "insert-copy", "insert-forged", "swap"]
    )
    k = rng.randrange(len(out))
    if what in ("byte", "leaf-byte"):
        body, leaf = out[k]
        target = bytearray(body if what == "byte" else leaf)
        p = rng.randrange(len(target))
        target[p] = (target[p] + rng.randrange(1, 256)) % 256
        out[k] = (bytes(target), leaf) if what == "byte" else (body, bytes(target))
    elif what == "delete":
        del out[k]
        return what, [(i, b, lf) for i, (b, lf) in enumerate(out) if i < k] + [
            (i + 1, b, lf) for i, (b, lf) in enumerate(out) if i >= k
        ]
    elif what == "delete-renumber":
        del out[k]
    elif what == "insert-copy":
        out.insert(k, out[rng.randrange(len(out))])
    elif what == "insert-forged":
        # A well-formed entry with the right index and previous hash and a matching leaf column.
        prev = out[k - 1][1].hex() if k else None
        body = canonical_json(
            {
                "index": k,
                "kind": "image.released",
                "created": "2026-01-01T00:00:00.000000Z",
                "data": {"record_id": "forged"},
                "personal": None,
                "prev": prev,
            }
        )
        out.insert(k, (body, hash_leaf(body)))
    else:
        j = rng.randrange(len(out))
        while j == k:
            j = rng.randrange(len(out))
        out[j], out[k] = out[k], out[j]
    return what, [(i, b, lf) for i, (b, lf) in enumerate(out)]


def test_random_edits_are_detected_with_the_first_bad_index(log_url: str, key_path: Path, raw) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(6962)
    with AuditLog.open(log_url, key_path=key_path) as log:
        for i in range(N):
            log.append(
                "image.released", {"record_id": f"r{i}", "sha256": f"{i:064x}", "n": "x" * rng.randrange(40)}
            )
        original_rows = raw.rows()
        full = raw.full_rows()
        original = [(b, lf) for _, b, lf in original_rows]
        seen = set()
        for _ in range(MUTATIONS):
            what, rows = mutate(rng, original)
            expected = first_difference(original, [(b, lf) for _, b, lf in rows])
            if what == "delete":  # a gap: the stored sequence still has N - 1 rows
                expected = (
                    next(i for i, (idx, _, _) in enumerate(rows) if idx != i)
                    if any(idx != i for i, (idx, _, _) in enumerate(rows))
                    else len(rows)
                )
            raw.replace_rows(rows)
            check = log.verify(check_files=False)
            assert not check.ok, what
            assert check.first_bad_index == expected, (what, expected, check.reason)
            assert check.reason
            seen.add(what)
        raw.restore(full)
        assert log.verify(check_files=False).ok
    assert len(seen) == 7  # every kind of edit was tried
