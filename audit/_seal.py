"""Encryption of raw prompts that a policy asks to keep (``audit.store_raw_prompt: true``).

The operator holds the 32-byte key; the log stores only the sealed text, inside the personal data
that ``erase`` deletes.  AES-256-GCM with a random nonce; the record id is bound in as associated
data, so a sealed prompt moved to another record does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hallmark.errors import AuditError, KeyMaterialError

_PREFIX = "hm-aesgcm1:"


class PersonalCipher:
    """Seal and open personal text with an operator-held AES-256 key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise KeyMaterialError("the personal-data key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path, *, create: bool = False) -> PersonalCipher:
        """Load the raw 32-byte key at ``path``; with ``create`` write a new one (mode 0600) if missing."""
        if not path.exists() and create:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Whole file under a temporary name, then linked into place (racing creators agree).
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(os.urandom(32))
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        try:
            return cls(path.read_bytes())
        except OSError as e:
            raise KeyMaterialError(f"cannot read the personal-data key {path}") from e

    def seal(self, text: str, *, context: str) -> str:
        """Encrypt ``text`` bound to ``context`` (the record id); returns printable text."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, text.encode(), context.encode())
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, token: str, *, context: str) -> str:
        """Decrypt a sealed text; AuditError if it is malformed, for another record, or another key."""
        if not token.startswith(_PREFIX):
            raise AuditError("not a sealed hallmark value")
        try:
            blob = base64.b64decode(token[len(_PREFIX) :], validate=True)
            return self._aead.decrypt(blob[:12], blob[12:], context.encode()).decode()
        except (binascii.Error, ValueError, InvalidTag) as e:
            raise AuditError("sealed value does not open with this key and record id") from e
