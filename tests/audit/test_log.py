"""AuditLog on both stores: appends, queries, proofs, checkpoints, erasure, migration, errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hallmark.audit import (
    AuditLog,
    InclusionProof,
    canonical_json,
    decisions_of,
    open_store,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from hallmark.audit._checkpoint import CheckpointSigner
from hallmark.audit._merkle import hash_leaf
from hallmark.errors import AuditError, TamperError

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def fill(log: AuditLog, released, n: int = 12) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        log.append(
            "image.released",
            released(i),
            personal={"prompt": f"a lighthouse <EMAIL_ADDRESS> {i}", "user": f"user{i % 3}"},
            now=T0 + timedelta(days=i),
        )


def test_append_writes_canonical_chained_entries(log_url: str, key_path: Path, released) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path) as log:
        a = log.append("prompt.blocked", {"rule": "r1"}, personal={"prompt": "x", "user": "u"}, now=T0)
        b = log.append("image.released", released(1), now=T0)
        assert (a.index, b.index) == (0, 1)
        assert a.created == "2026-05-01T12:00:00.000000Z"
        assert a.prev_hash is None and b.prev_hash == a.leaf_hash
        assert a.personal == {"prompt": "x", "user": "u"} and b.personal is None
        body = canonical_json(
            {
                "index": 1,
                "kind": "image.released",
                "created": b.created,
                "data": released(1),
                "personal": None,
                "prev": a.leaf_hash,
            }
        )
        assert hash_leaf(body).hex() == b.leaf_hash
        assert log.prove(1).entry == body.decode()
        body_a = {
            "index": 0,
            "kind": "prompt.blocked",
            "created": a.created,
            "data": {"rule": "r1"},
            "personal": a.commitment,
            "prev": None,
        }
        assert log.prove(0).entry == canonical_json(body_a).decode()
        assert log.get(1) == b
        assert len(log) == 2
        check = log.verify()
        assert check.ok and check.size == 2 and check.first_bad_index is None
        assert [m.path for m in check.missing_files] == [released(1)["path"]]


def test_queries_stats_and_exports(log_url: str, key_path: Path, released) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path) as log:
        fill(log, released)
        log.append(
            "prompt.blocked",
            {
                "decisions": {
                    "prompt": {"action": "block", "findings": [{"category": "violence", "action": "block"}]}
                }
            },
            now=T0 + timedelta(days=20),
        )
        assert [e.index for e in log.find(record_id="0190-0004")] == [4]
        assert [e.index for e in log.find(payload="00000000000a")] == [10]  # case-insensitive
        assert [e.index for e in log.find(sha256=f"{5:064X}")] == [5]
        assert [e.index for e in log.find(kind="prompt.blocked")] == [12]
        assert decisions_of(log.get(12)) == ["prompt.block"]  # the stage's action, not its findings'
        assert decisions_of(log.get(3)) == ["image.flag", "prompt.allow"]  # stages as stored: sorted
        assert [e.index for e in log.entries(user="user1")] == [1, 4, 7, 10]
        assert [e.index for e in log.entries(since="2026-05-03", until="2026-05-05")] == [2, 3]
        assert [e.index for e in log.entries(since=T0 + timedelta(days=11))] == [11, 12]
        assert [e.index for e in log.entries(category="sexual")] == [0, 3, 6, 9]
        assert [e.index for e in log.entries(category="violence")] == [12]
        assert [e.index for e in log.entries(model="tiny", limit=2)] == [1, 3]
        assert [e.index for e in log.entries(policy_digest="abab")][:2] == [1, 3]
        assert [e.index for e in log.entries(verdict="blocked")] == [12]
        assert [e.index for e in log.entries(action="flag")] == [0, 3, 6, 9]
        assert [e.index for e in log.entries(kind="image.released", limit=3)] == [0, 1, 2]
        stats = log.stats()
        assert stats.total == 13
        assert stats.by_kind == {"image.released": 12, "prompt.blocked": 1}
        assert stats.by_decision["image.flag"] == 4 and stats.by_decision["prompt.block"] == 1
        assert stats.by_category == {"sexual": 4, "violence": 1}
        assert stats.by_policy == {"default@1": 12}
        assert stats.by_model == {"sd-turbo": 6, "tiny": 6}
        assert stats.by_day["2026-05-01"] == 1 and len(stats.by_day) == 13
        out = io.StringIO()
        assert log.export(out, fmt="jsonl") == 13
        lines = [json.loads(x) for x in out.getvalue().splitlines()]
        assert lines[4]["data"]["record_id"] == "0190-0004" and "personal" not in lines[4]
        out = io.StringIO()
        assert log.export(out, fmt="csv", include_personal=True, kind="image.released") == 12
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert rows[2]["record_id"] == "0190-0002" and json.loads(rows[2]["personal"])["user"] == "user2"
        with pytest.raises(AuditError, match="unknown export format 'xml'; known: jsonl, csv"):
            log.export(io.StringIO(), fmt="xml")


def test_proofs_verify_offline_with_only_checkpoint_and_key(log_url: str, key_path: Path, released) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path) as log:
        fill(log, released, 9)
        old = log.checkpoint()
        fill(log, released, 8)
        vkey = log.verifier_key()
        for i in range(len(log)):
            proof = json.loads(json.dumps(log.prove(i).to_dict()))  # through JSON, as a third party gets it
            cp = verify_inclusion(proof, vkey)
            assert cp.size == 17
        verify_inclusion(log.prove(3, size=9).to_dict(), vkey)
        old_v, new_v = verify_consistency(log.prove_consistency(old.size).to_dict(), vkey)
        assert (old_v.size, new_v.size) == (9, 17) and old_v.root_hash == old.root_hash
        for m in range(0, 18):
            verify_consistency(log.prove_consistency(m, new_size=17), vkey)
        with pytest.raises(AuditError, match="no entry 17"):
            log.prove(17)
        with pytest.raises(AuditError, match="cannot prove size 18"):
            log.prove_consistency(18)
        with pytest.raises(AuditError, match="no tree of size 40"):
            log.prove(1, size=40)


def test_proofs_are_rejected_for_another_tree_key_or_entry(
    log_url: str, key_path: Path, tmp_path: Path, released
) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path) as log:
        fill(log, released, 10)
        vkey = log.verifier_key()
        proof = log.prove(4)
        small = log.prove(4, size=6)
    other = CheckpointSigner.from_file(tmp_path / "other.key", name=log.origin, create=True)
    with pytest.raises(TamperError, match="signed by another key"):
        verify_inclusion(proof, str(other.verifier))
    # the path of one tree against the checkpoint of another
    mixed = InclusionProof(proof.index, proof.tree_size, proof.entry, small.hashes, proof.checkpoint)
    with pytest.raises(TamperError, match="too few hashes|computed root does not match"):
        verify_inclusion(mixed, vkey)
    other_tree = InclusionProof(4, 6, proof.entry, small.hashes, proof.checkpoint)
    with pytest.raises(TamperError, match="proof is for a tree of size 6 but the checkpoint is for size 10"):
        verify_inclusion(other_tree, vkey)
    edited = InclusionProof(
        4, 10, proof.entry.replace("0190-0004", "0190-9999"), proof.hashes, proof.checkpoint
    )
    with pytest.raises(TamperError, match="computed root does not match"):
        verify_inclusion(edited, vkey)
    with pytest.raises(TamperError, match="malformed inclusion proof"):
        verify_inclusion({"type": "inclusion"}, vkey)
    with pytest.raises(TamperError, match="not an inclusion proof"):
        verify_inclusion({"type": "consistency"}, vkey)
    bad = proof.to_dict() | {"hashes": ["!!"]}
    with pytest.raises(TamperError, match="not base64"):
        verify_inclusion(bad, vkey)
    bad = proof.to_dict() | {"hashes": ["AAAA"]}
    with pytest.raises(TamperError, match="not 32 bytes"):
        verify_inclusion(bad, vkey)
    bad = proof.to_dict() | {"hashes": "x"}
    with pytest.raises(TamperError, match="must be a list"):
        verify_inclusion(bad, vkey)
    with pytest.raises(TamperError, match="malformed consistency proof"):
        verify_consistency({"type": "consistency"}, vkey)
    with pytest.raises(TamperError, match="not a consistency proof"):
        verify_consistency({"type": "inclusion"}, vkey)


def test_consistency_between_different_logs_is_rejected(tmp_path: Path, released) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "k.key"
    with AuditLog.open(f"sqlite:///{tmp_path / 'a.db'}", key_path=key) as a:
        fill(a, released, 4)
        pa = a.prove_consistency(2)
        vkey = a.verifier_key()
    signer = CheckpointSigner.from_file(key, name="hallmark/audit/other")
    foreign = signer.sign("hallmark/audit/other", 4, b"\0" * 32).note
    forged = pa.to_dict() | {"new_checkpoint": foreign}
    with pytest.raises(TamperError, match="signed by another key"):
        verify_consistency(forged, vkey)


def test_truncated_log_and_forged_head_are_rejected(
    log_url: str, key_path: Path, raw, tmp_path: Path, released
) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path) as log:
        fill(log, released, 10)
        old_head = raw.query("SELECT size, root, frontier, last_leaf, note FROM audit_head")[0]
        fill(log, released, 3)
        trusted = log.checkpoint().note
        raw.run(("DELETE FROM audit_entries WHERE idx >= 11", ()))
        check = log.verify()
        assert not check.ok and check.first_bad_index == 11
        assert (
            "log rolled back from 13 to 11 entries: the signed tree head covers 13 entries but only 11 are stored"
            in check.reason
        )
        # roll back to an older genuine head: local checks pass, the auditor's checkpoint does not
        raw.run(
            ("DELETE FROM audit_entries WHERE idx >= 10", ()),
            (
                "UPDATE audit_head SET size = ?, root = ?, frontier = ?, last_leaf = ?, note = ?",
                tuple(old_head),
            ),
        )
        raw.run(("DELETE FROM audit_checkpoints", ()))
        check = log.verify()  # the rolled-back entries' personal rows give it away
        assert not check.ok and check.reason == "personal data is stored for entry 10, which does not exist"
        raw.run(("DELETE FROM audit_personal WHERE idx >= 10", ()))
        check = log.verify()  # so do the tree nodes the rolled-back entries completed
        assert not check.ok and check.reason.startswith("the tree node at level 1, index 5 was edited")
        raw.run(("DELETE FROM audit_nodes WHERE ((idx + 1) << level) > 10", ()))
        assert log.verify().ok  # a careful rollback verifies on its own ...
        check = log.verify(trusted_checkpoint=trusted)  # ... but not against a checkpoint kept elsewhere
        assert not check.ok and check.first_bad_index == 10 and "trusted checkpoint covers 13" in check.reason
        # a head re-signed with another key
        other = CheckpointSigner.from_file(tmp_path / "other.key", name=log.origin, create=True)
        size, root = old_head[0], bytes(old_head[1])
        raw.run(("UPDATE audit_head SET note = ?", (other.sign(log.origin, size, root).note,)))
        check = log.verify()
        assert not check.ok and "signed tree head: checkpoint is not signed by key" in check.reason
        assert "signed by another key" in check.reason
        raw.run(("UPDATE audit_head SET note = ?", (old_head[4],)))
        raw.run(("UPDATE audit_head SET size = ?", (9,)))
        check = log.verify()
        assert not check.ok and "does not match its signed checkpoint" in check.reason


def test_rewritten_history_is_caught_by_an_older_checkpoint(
    log_url: str, key_path: Path, raw, released
) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path) as log:
        fill(log, released, 6)
        log.checkpoint()
        fill(log, released, 4)
        rows = raw.rows()
    # Rebuild the whole log from entry 3 on with a different entry, re-signing with the same key
    # (an insider with the key): the checkpoint kept at size 6 still exposes it.
    raw.run(
        ("DELETE FROM audit_entries WHERE idx >= 3", ()),
        ("DELETE FROM audit_nodes", ()),
        ("DELETE FROM audit_personal", ()),
    )
    from hallmark.audit._merkle import frontier_root, push_leaf

    frontier: list[bytes] = []
    nodes = []
    for i, _, leaf in rows[:3]:
        nodes += push_leaf(frontier, i, leaf)
    prev = rows[2][2]
    stmts = []
    for i in range(3, 10):
        body = canonical_json(
            {
                "index": i,
                "kind": "image.released",
                "created": "2026-05-01T00:00:00.000000Z",
                "data": released(100 + i),
                "personal": None,
                "prev": prev.hex(),
            }
        )
        leaf = hash_leaf(body)
        nodes += push_leaf(frontier, i, leaf)
        stmts.append(
            (
                "INSERT INTO audit_entries (idx, kind, created, body, leaf) VALUES (?, 'image.released', '', ?, ?)",
                (i, body, leaf),
            )
        )
        prev = leaf
    signer = CheckpointSigner.from_file(key_path, name=log.origin)
    root = frontier_root(frontier)
    note = signer.sign(log.origin, 10, root).note
    stmts += [("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", n) for n in nodes if n[0] > 0]
    stmts.append(("UPDATE audit_head SET root = ?, note = ?, last_leaf = ?", (root, note, prev)))
    raw.run(*stmts)
    with AuditLog.open(log_url, key_path=key_path) as log:
        check = log.verify()
    assert not check.ok and check.first_bad_index == 0
    assert "the first 6 entries do not match the checkpoint of size 6" in check.reason


def test_erase_keeps_the_log_verifiable_and_respects_retention(
    log_url: str, key_path: Path, released
) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path, retention_days=180) as log:
        fill(log, released, 5)
        vkey = log.verifier_key()
        before = log.prove(2)
        with pytest.raises(
            AuditError, match="record 0190-0002 is 29 days old; the retention setting keeps records 180 days"
        ):
            log.erase("0190-0002", now=T0 + timedelta(days=31))
        e = log.erase("0190-0002", now=T0 + timedelta(days=200))
        assert e.kind == "record.erased" and e.data == {
            "record_id": "0190-0002",
            "erased": [2],
            "forced": False,
        }
        assert log.get(2).personal is None and log.get(2).commitment is not None
        assert log.get(3).personal is not None
        assert log.verify().ok
        verify_inclusion(before, vkey)  # old proofs still hold: the entry itself did not change
        verify_inclusion(log.prove(2), vkey)
        forced = log.erase("0190-0004", force=True, now=T0 + timedelta(days=5))
        assert forced.data["forced"] is True
        with pytest.raises(AuditError, match="no personal data left"):
            log.erase("0190-0004", force=True)
        with pytest.raises(AuditError, match="no audit entry for record nope"):
            log.erase("nope")
        assert log.retention_days == 180
        assert [x.index for x in log.entries(user="user1")] == [1]
        assert log.verify().ok


def test_edited_personal_data_is_detected(log_url: str, key_path: Path, raw, released) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path) as log:
        fill(log, released, 5)
        raw.run(("UPDATE audit_personal SET data = ? WHERE idx = 3", ('{"prompt":"other","user":"user0"}',)))
        check = log.verify()
        assert (
            not check.ok
            and check.first_bad_index == 3
            and "entry 3 was edited: its personal data" in check.reason
        )


def test_edited_search_columns_are_detected(log_url: str, key_path: Path, raw, released) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path) as log:
        fill(log, released, 5)
        assert [e.index for e in log.find(sha256=f"{3:064x}")] == [3]
        raw.run(("UPDATE audit_entries SET sha256 = ? WHERE idx = 3", ("f" * 64,)))
        check = log.verify()
        assert not check.ok and check.first_bad_index == 3
        assert check.reason == "entry 3 was edited: its search columns do not match the entry"
        assert log.verify(check_index=False).ok
        raw.run(
            ("UPDATE audit_entries SET sha256 = ?, kind = 'prompt.blocked' WHERE idx = 3", (f"{3:064x}",))
        )
        assert log.verify().first_bad_index == 3


def test_migrate_proves_the_same_root(log_url: str, key_path: Path, tmp_path: Path, released) -> None:  # type: ignore[no-untyped-def]
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    with AuditLog.open(log_url, key_path=key_path, retention_days=30) as log:
        fill(log, released, 7)
        log.checkpoint()
        log.erase("0190-0001", force=True)
        result = log.migrate(target)
        assert result.size == 8 and result.root_hash == log.verify().root_hash
    with AuditLog.open(target, key_path=key_path) as copy:
        assert copy.verify().ok and copy.retention_days == 30 and copy.origin == log.origin
        assert copy.get(3).personal == {"prompt": "a lighthouse <EMAIL_ADDRESS> 3", "user": "user0"}
        assert [e.index for e in copy.entries(user="user0")] == [0, 3, 6]
        copy.append("generation.failed", {"error": "x"})
        assert copy.verify().ok
        with pytest.raises(AuditError, match="is not empty"):
            copy.migrate(log_url)


def test_errors(log_url: str, key_path: Path, tmp_path: Path) -> None:
    with AuditLog.open(log_url, key_path=key_path) as log:
        assert log.verify().ok and log.verify().size == 0
        with pytest.raises(
            AuditError, match="unknown audit event kind 'image.relased'; known: prompt.blocked"
        ):
            log.append("image.relased", {})
        with pytest.raises(AuditError, match="not JSON-serialisable"):
            log.append("image.released", {"x": object()})
        with pytest.raises(AuditError, match="not JSON-serialisable"):
            log.append("image.released", {"x": float("nan")})
        with pytest.raises(AuditError, match="must be a dict"):
            log.append("image.released", [])  # type: ignore[arg-type]
        with pytest.raises(AuditError, match="timezone-aware"):
            log.append("image.released", {}, now=datetime(2026, 1, 1))
        with pytest.raises(AuditError, match="needs a record id"):
            log.find()
        with pytest.raises(AuditError, match="no audit entry at index 5"):
            log.get(5)
        with pytest.raises(AuditError, match="not an RFC 3339 time"):
            list(log.entries(since="yesterday"))
        cp = log.checkpoint()
        assert cp.size == 0 and verify_checkpoint(cp.note, log.verifier_key()).size == 0
        log.append("generation.failed", {"error": "boom"})
    other = tmp_path / "other.key"
    with AuditLog.open(log_url, key_path=other) as log:
        with pytest.raises(AuditError, match="is not the key this log was created with"):
            log.append("generation.failed", {})
        assert not log.verify().ok  # verified against the wrong key file
        assert log.verify(verifier_key=AuditLog.open(log_url, key_path=key_path).verifier_key()).ok
    with pytest.raises(AuditError, match="retention_days must be 0 or more"):
        AuditLog.open(log_url, key_path=key_path, retention_days=-1)


def test_store_registry_and_urls(tmp_path: Path) -> None:
    with pytest.raises(
        AuditError, match="unknown audit store scheme 'mysql'; known: postgres, postgresql, sqlite"
    ):
        open_store("mysql://x/y")
    with pytest.raises(AuditError, match="not a log URL"):
        open_store("audit.db")
    with pytest.raises(AuditError, match="bad SQLite URL"):
        open_store("sqlite://")
    with pytest.raises(AuditError, match="no audit log at"):
        AuditLog.open(f"sqlite:///{tmp_path / 'none.db'}", create=False)
    with pytest.raises(AuditError, match="invalid PostgreSQL schema name"):
        open_store("postgresql://127.0.0.1/test?schema=bad;drop")
    with pytest.raises(AuditError, match="cannot connect to the PostgreSQL audit log"):
        open_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(AuditError, match="needs a checkpoint key path"):
        from hallmark.audit._log import AuditLog as Log

        log = Log(open_store(f"sqlite:///{tmp_path / 'k.db'}"), key_path=None)
        log.append("generation.failed", {})


def test_default_key_lives_beside_the_database(tmp_path: Path) -> None:
    with AuditLog.open(f"sqlite:///{tmp_path / 'audit.db'}") as log:
        log.append("generation.failed", {"error": "x"})
    assert (tmp_path / "keys" / "audit-checkpoint.key").stat().st_mode & 0o777 == 0o600


def test_reader_without_the_key_gets_current_proofs_but_never_a_new_key(
    log_url: str, key_path: Path, tmp_path: Path, released
) -> None:  # type: ignore[no-untyped-def]
    with AuditLog.open(log_url, key_path=key_path) as log:
        fill(log, released, 6)
        vkey = log.verifier_key()
    reader_key = tmp_path / "reader" / "audit-checkpoint.key"
    with AuditLog.open(log_url, key_path=reader_key) as log:
        verify_inclusion(log.prove(2), vkey)  # the signed head needs no key
        assert log.verify().ok  # falls back on the key recorded with the log
        with pytest.raises(AuditError, match="checkpoint key not found"):
            log.prove(2, size=4)  # an older tree must be signed now: needs the key
    assert not reader_key.exists()
