"""Raw prompts kept only when a policy asks, sealed with the operator's key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hallmark.audit import AuditLog, PersonalCipher
from hallmark.errors import AuditError, KeyMaterialError


def test_seal_roundtrip_and_binding(tmp_path: Path) -> None:
    cipher = PersonalCipher.from_file(tmp_path / "personal.key", create=True)
    assert os.stat(tmp_path / "personal.key").st_mode & 0o777 == 0o600
    token = cipher.seal("a photo of jane@example.com", context="rec-1")
    assert "jane" not in token
    assert (
        PersonalCipher.from_file(tmp_path / "personal.key").open(token, context="rec-1")
        == "a photo of jane@example.com"
    )
    with pytest.raises(AuditError, match="does not open with this key and record id"):
        cipher.open(token, context="rec-2")
    with pytest.raises(AuditError, match="does not open"):
        PersonalCipher(os.urandom(32)).open(token, context="rec-1")
    with pytest.raises(AuditError, match="does not open"):
        cipher.open(token[:-4] + "AAAA", context="rec-1")
    with pytest.raises(AuditError, match="not a sealed hallmark value"):
        cipher.open("plain text", context="rec-1")
    with pytest.raises(KeyMaterialError, match="must be 32 bytes"):
        PersonalCipher(b"short")
    with pytest.raises(KeyMaterialError, match="cannot read the personal-data key"):
        PersonalCipher.from_file(tmp_path / "missing.key")


def test_sealed_prompt_is_erased_with_the_record(tmp_path: Path) -> None:
    cipher = PersonalCipher(os.urandom(32))
    with AuditLog.open(f"sqlite:///{tmp_path / 'a.db'}") as log:
        for i in range(20):
            log.append(
                "image.released", {"record_id": f"other-{i}"}, personal={"prompt": "p", "user": f"u{i}"}
            )
        sealed = cipher.seal("raw prompt", context="rec-1")
        log.append(
            "image.released", {"record_id": "rec-1"}, personal={"prompt": "raw prompt", "raw_prompt": sealed}
        )
        assert cipher.open(log.get(20).personal["raw_prompt"], context="rec-1") == "raw prompt"  # type: ignore[index]
        log.erase("rec-1")
        assert log.get(20).personal is None and log.verify().ok
        on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("a.db*") if p.is_file())
        assert b"raw prompt" not in on_disk and sealed.encode() not in on_disk
