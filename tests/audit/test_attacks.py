"""Issue 20's attacks on both stores, against ``verify_log`` (read-only): a wiped log, a careful
rollback to an older state that verifies on its own, a silently deleted personal-data row, and a
log rebuilt under a new key.  None of them is ``verified``; the CLI side is in
tests/integration/test_cli_audit_attacks.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallmark.audit import AuditLog, parse_checkpoint, verify_log
from hallmark.audit._merkle import frontier_root, push_leaf

N = 12


@pytest.fixture
def pinned(log_url: str, key_path: Path, tmp_path: Path) -> Path:
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin) as log:
        for i in range(N):
            log.append("image.released", {"record_id": f"r{i}"}, personal={"prompt": "p", "user": f"u{i}"})
    return pin


@pytest.mark.parametrize("wipe", ["delete rows", "drop tables"])
def test_a_wiped_log_fails_and_is_not_recreated(
    log_url: str, key_path: Path, pinned: Path, raw, wipe: str
) -> None:  # type: ignore[no-untyped-def]
    tables = [
        "audit_entries",
        "audit_personal",
        "audit_nodes",
        "audit_checkpoints",
        "audit_head",
        "audit_meta",
    ]
    statement = "DELETE FROM {}" if wipe == "delete rows" else "DROP TABLE {}"
    raw.run(*[(statement.format(t), ()) for t in tables])
    before = raw.dump()
    check = verify_log(log_url, key_path=key_path, checkpoint_file=pinned)
    assert not check.ok and check.reason.startswith(f"log rolled back from {N} to 0 entries")
    assert raw.dump() == before  # read-only: no table, no row came back
    # Without the checkpoint file the wipe still fails, but cannot say from how many entries.
    check = verify_log(log_url, key_path=key_path)
    assert not check.ok and check.reason in (
        "the log's origin row is missing (audit_meta was edited)",
        f"there are no audit tables in {log_url} (wiped or truncated)",
    )


def test_a_careful_rollback_needs_the_checkpoint_kept_outside(
    log_url: str, key_path: Path, pinned: Path, raw
) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pinned) as log:
        for i in range(N, N + 5):
            log.append("image.released", {"record_id": f"r{i}"})
        old_note = log.prove_consistency(N).old_checkpoint  # a genuine signed checkpoint of size N
    # The attacker deletes the entries after N and puts back the head of size N and the nodes it
    # had: a self-consistent log, signed by the real key.
    frontier: list[bytes] = []
    for i, _, leaf in raw.rows()[:N]:
        push_leaf(frontier, i, leaf)
    assert frontier_root(frontier) == parse_checkpoint(old_note)[0].root_hash
    raw.run(
        ("DELETE FROM audit_entries WHERE idx >= ?", (N,)),
        ("DELETE FROM audit_nodes WHERE ((idx + 1) << level) > ?", (N,)),
        ("DELETE FROM audit_checkpoints WHERE size > ?", (N,)),
        (
            "UPDATE audit_head SET size = ?, root = ?, frontier = ?, last_leaf = ?, note = ?",
            (N, frontier_root(frontier), b"".join(frontier), raw.rows()[N - 1][2], old_note),
        ),
    )
    assert verify_log(log_url, key_path=key_path).ok  # it verifies on its own ...
    check = verify_log(log_url, key_path=key_path, checkpoint_file=pinned)  # ... not against the file
    assert not check.ok and check.reason.startswith(f"log rolled back from {N + 5} to {N} entries")


def test_a_silently_deleted_personal_row_is_named(log_url: str, key_path: Path, pinned: Path, raw) -> None:  # type: ignore[no-untyped-def]
    raw.run(("DELETE FROM audit_personal WHERE idx = 5", ()))
    check = verify_log(log_url, key_path=key_path, checkpoint_file=pinned)
    assert not check.ok and check.first_bad_index == 5
    assert check.reason == "entry 5 was edited: its personal data was deleted without a record.erased entry"
    raw.run(("DELETE FROM audit_personal WHERE idx = 7", ()))  # the first one is named
    assert verify_log(log_url, key_path=key_path, checkpoint_file=pinned).first_bad_index == 5


def test_an_erasure_entry_accounts_for_a_deleted_row(log_url: str, key_path: Path, pinned: Path) -> None:
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pinned) as log:
        log.erase("r5", force=True)
    assert verify_log(log_url, key_path=key_path, checkpoint_file=pinned).verified


def test_a_log_rebuilt_under_a_new_key(
    log_url: str, key_path: Path, pinned: Path, tmp_path: Path, raw
) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path) as log:
        real = log.verifier_key()
        entries = list(log.entries())
    raw.run(*[(f"DROP TABLE {t}", ()) for t in raw.dump()])
    forger = tmp_path / "forger.key"
    with AuditLog.open(log_url, key_path=forger) as log:  # the same store, rebuilt from scratch
        for e in entries:
            log.append(e.kind, dict(e.data, edited=e.index == 3), personal=e.personal)
    reader = tmp_path / "reader" / "no.key"  # an auditor's machine: no key file
    check = verify_log(log_url, key_path=reader)
    assert check.ok and check.status == "unchecked" and check.key_source == "log"
    assert check.unchecked[0].startswith("authenticity not checked: pass --key")
    check = verify_log(log_url, key_path=reader, verifier_key=real)
    assert not check.ok and "not signed by key" in check.reason and check.key_source == "argument"
    check = verify_log(log_url, key_path=key_path)  # the operator's key file
    assert not check.ok and "not signed by key" in check.reason
    check = verify_log(log_url, key_path=reader, checkpoint_file=pinned)  # the home's file
    assert not check.ok and check.reason.startswith("the log was replaced: its origin")
