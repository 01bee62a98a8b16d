"""Signed notes and checkpoints (C2SP signed-note, tlog-checkpoint)."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from hallmark.audit import VerifierKey, parse_checkpoint, verify_checkpoint
from hallmark.audit._checkpoint import CheckpointSigner, checkpoint_body
from hallmark.errors import AuditError, TamperError

ROOT = hashlib.sha256(b"root").digest()


def signer(tmp_path: Path, name: str = "example.com/log", file: str = "k.key") -> CheckpointSigner:
    return CheckpointSigner.from_file(tmp_path / file, name=name, create=True)


def test_checkpoint_text_follows_tlog_checkpoint(tmp_path: Path) -> None:
    cp = signer(tmp_path).sign("example.com/log", 7, ROOT)
    body, sep, sig = cp.note.partition("\n\n")
    assert body + "\n" == checkpoint_body("example.com/log", 7, ROOT)
    assert body.split("\n") == ["example.com/log", "7", base64.b64encode(ROOT).decode()]
    assert sig.startswith("\u2014 example.com/log ") and sig.endswith("\n")
    blob = base64.b64decode(sig.split(" ")[2])
    assert len(blob) == 4 + 64  # key hash + Ed25519 signature


def test_key_hash_per_signed_note_spec(tmp_path: Path) -> None:
    s = signer(tmp_path)
    pub = s.verifier.public
    expected = hashlib.sha256(b"example.com/log\n\x01" + pub).digest()[:4]
    assert s.verifier.key_hash == expected
    assert str(s.verifier).startswith(f"example.com/log+{expected.hex()}+")
    assert VerifierKey.parse(str(s.verifier)) == s.verifier


def test_verify_checkpoint_roundtrip(tmp_path: Path) -> None:
    s = signer(tmp_path)
    cp = verify_checkpoint(s.sign("example.com/log", 3, ROOT).note, str(s.verifier))
    assert (cp.origin, cp.size, cp.root_hash) == ("example.com/log", 3, ROOT)


def test_key_file_is_created_0600_and_reloaded(tmp_path: Path) -> None:
    s = signer(tmp_path)
    mode = stat.S_IMODE(os.stat(tmp_path / "k.key").st_mode)
    assert mode == 0o600
    again = CheckpointSigner.from_file(tmp_path / "k.key", name="example.com/log")
    assert again.verifier == s.verifier


def test_rejections(tmp_path: Path) -> None:
    s = signer(tmp_path)
    other = signer(tmp_path, file="other.key")
    note = s.sign("example.com/log", 3, ROOT).note
    with pytest.raises(TamperError, match="signed by another key"):
        verify_checkpoint(other.sign("example.com/log", 3, ROOT).note, str(s.verifier))
    forged = note.replace("\n3\n", "\n4\n")
    with pytest.raises(TamperError, match="signature does not verify"):
        verify_checkpoint(forged, str(s.verifier))
    with pytest.raises(TamperError, match="origin"):
        verify_checkpoint(note, str(s.verifier), origin="elsewhere/log")
    with pytest.raises(TamperError, match="blank line"):
        verify_checkpoint(note.replace("\n\n", "\n"), str(s.verifier))
    with pytest.raises(TamperError, match="origin, tree size and root"):
        parse_checkpoint("a\nb\n\n\u2014 x AAAAAAA=\n")
    with pytest.raises(TamperError, match="bad tree size"):
        parse_checkpoint(note.replace("\n3\n", "\n-3\n"))
    with pytest.raises(TamperError, match="bad signature line"):
        parse_checkpoint(note.replace("\u2014", "-"))
    with pytest.raises(TamperError, match="not base64"):
        parse_checkpoint(note.rsplit(" ", 1)[0] + " !!!\n")
    with pytest.raises(TamperError, match="too short"):
        parse_checkpoint(note.rsplit(" ", 1)[0] + " AAAA\n")


def test_verifier_key_errors(tmp_path: Path) -> None:
    s = signer(tmp_path)
    name, h, k = str(s.verifier).split("+", 2)
    with pytest.raises(TamperError, match="expected NAME"):
        VerifierKey.parse("nonsense")
    with pytest.raises(TamperError, match="bad hex or base64"):
        VerifierKey.parse(f"{name}+zz+{k}")
    with pytest.raises(TamperError, match="not an Ed25519"):
        VerifierKey.parse(f"{name}+{h}+" + base64.b64encode(b"\x02" + b"x" * 32).decode())
    with pytest.raises(TamperError, match="does not match name"):
        VerifierKey.parse(f"other+{h}+{k}")


def test_key_file_errors(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="checkpoint key not found"):
        CheckpointSigner.from_file(tmp_path / "missing.key", name="x")
    (tmp_path / "junk.key").write_text("junk")
    with pytest.raises(AuditError, match="cannot read checkpoint key"):
        CheckpointSigner.from_file(tmp_path / "junk.key", name="x")
    ec = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "ec.key").write_bytes(ec)
    with pytest.raises(AuditError, match="not an Ed25519 key"):
        CheckpointSigner.from_file(tmp_path / "ec.key", name="x")
    with pytest.raises(AuditError, match="invalid key name"):
        signer(tmp_path, name="has space")


def _create(path: str, q) -> None:  # type: ignore[no-untyped-def]
    q.put(str(CheckpointSigner.from_file(Path(path), name="example.com/log", create=True).verifier))


def test_racing_creators_agree_on_one_key(tmp_path: Path) -> None:
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_create, args=(str(tmp_path / "race.key"), q)) for _ in range(6)]
    for p in procs:
        p.start()
    keys = {q.get(timeout=60) for _ in procs}
    for p in procs:
        p.join()
    assert len(keys) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["race.key"]
