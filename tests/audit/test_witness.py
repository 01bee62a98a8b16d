"""Witnesses (``audit/_cosign.py``, ``audit/_witness.py``): cosignature/v1 lines, the tlog-witness
client against a witness served on 127.0.0.1, and ``verify`` requiring every witness."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hallmark.audit import (
    AuditLog,
    CheckpointFile,
    Witness,
    WitnessKey,
    WitnessList,
    cosign,
    cosignature_time,
    request_cosignatures,
    verify_log,
)
from hallmark.errors import AuditError, InputError, TamperError

T = 1_780_000_000


def fill(log: AuditLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append("image.released", {"record_id": f"r{i}", "sha256": f"{i:064x}"}, personal={"user": "u"})


def test_cosignature_lines_follow_cosignature_v1(tmp_path: Path) -> None:
    with AuditLog.open(f"sqlite:///{tmp_path / 'a.db'}") as log:
        fill(log, 3)
        note = log.checkpoint().note
        log_key = log.verifier_key()
    private = Ed25519PrivateKey.generate()
    key = WitnessKey.from_private(private, name="witness.example/w1")
    assert WitnessKey.parse(str(key)) == key
    line = cosign(private, name=key.name, note=note, timestamp=T)
    blob = base64.b64decode(line.split(" ")[2])
    assert line.startswith("\u2014 witness.example/w1 ") and len(blob) == 4 + 8 + 64
    assert blob[:4] == key.key_id and int.from_bytes(blob[4:12], "big") == T
    assert cosignature_time(note + line, key) == T
    assert cosignature_time(note, key) is None  # the log's own signature is not a cosignature
    other = WitnessKey.from_private(Ed25519PrivateKey.generate(), name="witness.example/w1")
    assert cosignature_time(note + line, other) is None  # another key's line is ignored
    forged = line[:-6] + ("A" if line[-6] != "A" else "B") + line[-5:]
    with pytest.raises(TamperError, match="cosignature by witness witness.example/w1 does not verify"):
        cosignature_time(note + forged, key)
    edited = note.replace("\n3\n", "\n4\n", 1) + line
    with pytest.raises(TamperError, match="does not verify"):
        cosignature_time(edited, key)
    with pytest.raises(AuditError, match="not an Ed25519 cosignature/v1 key"):
        WitnessKey.parse(log_key)  # a signed-note key (type 0x01) is not a witness key
    with pytest.raises(AuditError, match="key ID does not match"):
        WitnessKey.parse("other.example/w1+" + str(key).split("+", 1)[1])
    with pytest.raises(AuditError, match="positive POSIX time"):
        cosign(private, name=key.name, note=note, timestamp=0)


def test_witnesses_are_registered_in_a_file(tmp_path: Path) -> None:
    key = WitnessKey.from_private(Ed25519PrivateKey.generate(), name="w.example/1")
    (tmp_path / "w1.vkey").write_text(f"# witness w1\n{key}\n")
    registry = WitnessList(tmp_path / "witnesses.json")
    assert registry.load() == []
    registry.add(Witness.from_target(str(tmp_path / "w1.vkey")))
    registry.add(Witness.from_target("http://127.0.0.1:9/w/", key=str(key)))  # same name: replaces
    assert registry.load() == [Witness(key, url="http://127.0.0.1:9/w")]
    assert json.loads((tmp_path / "witnesses.json").read_text())["witnesses"][0]["name"] == "w.example/1"
    with pytest.raises(InputError, match="needs its public key"):
        Witness.from_target("https://witness.example/w")
    with pytest.raises(InputError, match="cannot read witness key file"):
        Witness.from_target(str(tmp_path / "none.vkey"))
    (tmp_path / "witnesses.json").write_text("{")
    with pytest.raises(AuditError, match="witness list .* is unreadable"):
        registry.load()


def test_an_online_witness_cosigns_and_verify_requires_it(
    log_url: str, key_path: Path, tmp_path: Path, local_witness
) -> None:  # type: ignore[no-untyped-def]
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(log_url, key_path=key_path, checkpoint_path=pin) as log:
        fill(log, 5)
        with local_witness(name="witness.test/w1", origin=log.origin, log_key=log.verifier_key()) as w:
            witness = Witness(w.key, url=w.url)
            assert verify_log(log_url, key_path=key_path, checkpoint_file=pin).verified
            check = verify_log(log_url, key_path=key_path, checkpoint_file=pin, witnesses=[w.key])
            assert not check.ok and check.witnesses[0].reason.startswith(
                "witness witness.test/w1 has not cosigned a checkpoint of 5 entries or more: it cosigned none"
            )
            [result] = request_cosignatures(log, [witness], checkpoint_file=pin)
            assert result.ok and result.size == 5 and w.requests == [(0, 200)]
            assert cosignature_time(pin.read_text(), w.key) == w.now
            assert log.checkpoint().note == pin.read_text()  # the checkpoint with its cosignature
            check = verify_log(log_url, key_path=key_path, checkpoint_file=pin, witnesses=[w.key])
            assert check.verified and check.witnesses[0].ok and check.witnesses[0].size == 5
            fill(log, 3, start=5)  # the file moves on: the old cosignature is not enough
            check = verify_log(log_url, key_path=key_path, checkpoint_file=pin, witnesses=[w.key])
            assert not check.ok and "has not cosigned a checkpoint of 8 entries or more" in check.reason
            [result] = request_cosignatures(log, [witness], checkpoint_file=pin)
            assert result.ok and w.requests[1:] == [(0, 409), (5, 200)]  # 409 told the client its size
            assert verify_log(log_url, key_path=key_path, checkpoint_file=pin, witnesses=[w.key]).verified


def test_a_witness_refuses_a_fork_and_a_rollback(
    log_url: str, key_path: Path, tmp_path: Path, local_witness, raw
) -> None:  # type: ignore[no-untyped-def]
    url = log_url
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(url, key_path=key_path, checkpoint_path=pin) as log:
        fill(log, 6)
        snapshot = raw.dump()
        fill(log, 4, start=6)
        with local_witness(name="witness.test/w1", origin=log.origin, log_key=log.verifier_key()) as w:
            witness = Witness(w.key, url=w.url)
            assert request_cosignatures(log, [witness], checkpoint_file=pin)[0].ok
            # The insider restores an older database and moves the home's file back with it
            # (they hold the key and the machine): the witness remembers 10 entries.
            raw.load(snapshot)
            pin.unlink()
            log.pin()
            [result] = request_cosignatures(log, [witness], checkpoint_file=pin)
            assert not result.ok and "it has seen 10 entries, more than the log's 6" in result.reason
            # ... and then appends other entries past 10: a fork the witness cannot be shown as consistent
            fill(log, 6, start=100)
            [result] = request_cosignatures(log, [witness], checkpoint_file=pin)
            assert not result.ok and "the consistency proof failed" in result.reason
            assert w.requests[-1] == (10, 422)
        check = verify_log(url, key_path=key_path, checkpoint_file=pin, witnesses=[w.key])
        assert not check.ok and "has not cosigned a checkpoint of 12 entries or more" in check.reason


def test_an_offline_witness_cosigns_an_exported_checkpoint(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(url, checkpoint_path=pin) as log:
        fill(log, 4)
        exported = log.checkpoint().note
        private = Ed25519PrivateKey.generate()
        key = WitnessKey.from_private(private, name="auditor.example/offline")
        [result] = request_cosignatures(log, [Witness(key)], checkpoint_file=pin)
        assert result.offline and not result.ok
    cosigned = exported + cosign(private, name=key.name, note=exported, timestamp=T)
    check = verify_log(url, checkpoint_file=pin, witnesses=[key])
    assert not check.ok
    check = verify_log(url, checkpoint_file=pin, checkpoints={"the cosigned copy": cosigned}, witnesses=[key])
    assert check.verified and check.witnesses[0].timestamp == T
    assert CheckpointFile(pin).add_signatures(cosigned)  # or kept in the home's file
    assert verify_log(url, checkpoint_file=pin, witnesses=[key]).verified


def test_unreachable_and_unknown_witnesses(tmp_path: Path, local_witness) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'a.db'}"
    pin = tmp_path / "audit-checkpoint.txt"
    with AuditLog.open(url, checkpoint_path=pin) as log:
        with pytest.raises(AuditError, match="there is no checkpoint file"):
            request_cosignatures(log, [], checkpoint_file=pin)
        fill(log, 2)
        with local_witness(name="witness.test/w1", origin="another/log", log_key=log.verifier_key()) as w:
            [result] = request_cosignatures(log, [Witness(w.key, url=w.url)], checkpoint_file=pin)
            assert not result.ok and "it does not follow this log" in result.reason
        key = WitnessKey.from_private(Ed25519PrivateKey.generate(), name="w")
        with pytest.raises(AuditError, match="is unreachable"):
            request_cosignatures(
                log, [Witness(key, url="http://127.0.0.1:9")], checkpoint_file=pin, timeout=2
            )
