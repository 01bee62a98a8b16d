"""Witness cosignatures on checkpoints: C2SP tlog-cosignature ``cosignature/v1`` (Ed25519).

A cosignature is one more signature line on a checkpoint note, ``\\u2014 NAME base64(key_id ||
timestamp || signature)``: the 4-byte key ID is SHA-256(name || 0x0A || 0x04 || public key)[:4],
the timestamp a big-endian u64 of POSIX seconds, and the Ed25519 signature covers
``cosignature/v1\\ntime T\\n`` followed by the checkpoint text.  A witness that cosigns says that,
at time T, this was the largest tree of the log it had seen, and consistent with all earlier ones.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hallmark.errors import AuditError, TamperError

from ._checkpoint import parse_checkpoint, parse_vkey

_ALG_COSIGNATURE = b"\x04"
_DASH = "\u2014"


def _key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ALG_COSIGNATURE + public).digest()[:4]


@dataclass(frozen=True)
class WitnessKey:
    """A witness's cosigning key: name, 4-byte key ID and Ed25519 public key (vkey type 0x04)."""

    name: str
    key_id: bytes
    public: bytes

    @classmethod
    def parse(cls, text: str) -> WitnessKey:
        """Read ``NAME+HEX(key ID)+base64(0x04 || public key)``; the key ID must match."""
        name, key_id, public = parse_vkey(
            text,
            what="witness key",
            kind="Ed25519 cosignature/v1 key",
            alg=_ALG_COSIGNATURE,
            key_id=_key_id,
            error=AuditError,
        )
        return cls(name=name, key_id=key_id, public=public)

    @classmethod
    def from_private(cls, private: Ed25519PrivateKey, *, name: str) -> WitnessKey:
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cls(name=name, key_id=_key_id(name, public), public=public)

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(_ALG_COSIGNATURE + self.public).decode()}"


def _message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def _text(note: str) -> str:
    return note.partition("\n\n")[0] + "\n"


def cosign(private: Ed25519PrivateKey, *, name: str, note: str, timestamp: int) -> str:
    """A cosignature line (newline-terminated) by ``private`` under ``name`` on checkpoint ``note``."""
    if not 0 < timestamp < 2**63:
        raise AuditError("a cosignature timestamp must be a positive POSIX time")
    key = WitnessKey.from_private(private, name=name)
    signature = private.sign(_message(_text(note), timestamp))
    blob = key.key_id + struct.pack(">Q", timestamp) + signature
    return f"{_DASH} {name} {base64.b64encode(blob).decode()}\n"


def cosignature_time(note: str, key: WitnessKey) -> int | None:
    """The timestamp of ``key``'s cosignature on checkpoint ``note``, or None when it has none.

    Lines of other keys are ignored (signed-note rules); a line of this key whose signature does
    not verify raises TamperError.
    """
    _, signatures = parse_checkpoint(note)
    text = _text(note)
    for name, key_id, blob in signatures:
        if name != key.name or key_id != key.key_id:
            continue
        if len(blob) != 8 + 64:
            raise TamperError(f"malformed cosignature by witness {key.name}")
        (timestamp,) = struct.unpack(">Q", blob[:8])
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(blob[8:], _message(text, timestamp))
        except InvalidSignature as e:
            raise TamperError(f"the cosignature by witness {key.name} does not verify") from e
        return int(timestamp)
    return None
