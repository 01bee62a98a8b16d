"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed-note envelopes, Ed25519 keys.

A checkpoint is ``origin\\nsize\\nbase64(root)\\n``; the note appends a blank line and one line per
signature, ``\\u2014 NAME base64(key_hash[4] || signature)``.  The key hash is the first four bytes
of SHA-256(name || 0x0A || 0x01 || public key), and a verifier key is written
``NAME+HEX(key_hash)+base64(0x01 || public key)``, as Go's ``golang.org/x/mod/sumdb/note`` does.
A third party needs only the note and that one line to check a checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hallmark.errors import AuditError, TamperError

KEY_FILE = "audit-checkpoint.key"  # the checkpoint key's file name in a key folder
CHECKPOINT_FILE = "audit-checkpoint.txt"  # the newest signed checkpoint, kept outside the database

_ALG_ED25519 = b"\x01"
_DASH = "\u2014"


@dataclass(frozen=True)
class Checkpoint:
    """A verified (or freshly signed) tree head: origin, tree size, root hash and the signed note."""

    origin: str
    size: int
    root_hash: bytes
    note: str

    @property
    def root_hex(self) -> str:
        return self.root_hash.hex()


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """Return the tlog-checkpoint text (origin line, decimal size, base64 root), newline-terminated."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def _key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ALG_ED25519 + public).digest()[:4]


def parse_vkey(
    text: str,
    *,
    what: str,
    kind: str,
    alg: bytes,
    key_id: Callable[[str, bytes], bytes],
    error: type[Exception],
) -> tuple[str, bytes, bytes]:
    """Split a signed-note verifier key ``NAME+ID+BASE64(alg || public key)`` into name, 4-byte
    ID and Ed25519 public key (``kind`` names the key in errors), checking the algorithm byte and that ``key_id(name, public)`` is
    the ID; anything else raises ``error`` naming ``what``."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not parts[0] or any(c.isspace() for c in parts[0]):
        raise error(f"malformed {what}: expected NAME+ID+KEY")
    name, id_hex, key_b64 = parts
    try:
        ident = bytes.fromhex(id_hex)
        raw = base64.b64decode(key_b64, validate=True)
    except (ValueError, binascii.Error) as e:
        raise error(f"malformed {what}: bad hex or base64") from e
    if len(ident) != 4 or len(raw) != 33 or raw[:1] != alg:
        raise error(f"malformed {what}: not an {kind} (type 0x{alg.hex()})")
    if key_id(name, raw[1:]) != ident:
        raise error(f"malformed {what}: key ID does not match name and key")
    return name, ident, raw[1:]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise AuditError(f"invalid key name {name!r}: it must be non-empty without spaces or '+'")


@dataclass(frozen=True)
class VerifierKey:
    """A signed-note verifier key: name, 4-byte key hash and the Ed25519 public key."""

    name: str
    key_hash: bytes
    public: bytes

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Parse ``NAME+HASH+BASE64`` and check that the hash matches the name and key."""
        name, key_hash, public = parse_vkey(
            text,
            what="verifier key",
            kind="Ed25519 signed-note key",
            alg=_ALG_ED25519,
            key_id=_key_hash,
            error=TamperError,
        )
        return cls(name=name, key_hash=key_hash, public=public)

    def __str__(self) -> str:
        return f"{self.name}+{self.key_hash.hex()}+{base64.b64encode(_ALG_ED25519 + self.public).decode()}"


class CheckpointSigner:
    """An Ed25519 signing key used to sign checkpoints under a key name (the log's origin)."""

    def __init__(self, private: Ed25519PrivateKey, *, name: str) -> None:
        _check_name(name)
        self._private = private
        self.name = name
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.verifier = VerifierKey(name=name, key_hash=_key_hash(name, public), public=public)

    @classmethod
    def from_file(cls, path: Path, *, name: str, create: bool = False) -> CheckpointSigner:
        """Load a PKCS#8 PEM Ed25519 key; with ``create`` write a new one (mode 0600) if it is missing."""
        if not path.exists():
            if not create:
                raise AuditError(
                    f"checkpoint key not found: {path}", hint="Append to the log once to create it."
                )
            private = Ed25519PrivateKey.generate()
            pem = private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written whole to a private temporary name, then linked into place: another writer
            # racing to create the key either wins or reads a complete file, never half of one.
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                return cls.from_file(path, name=name)
            finally:
                tmp.unlink()
            return cls(private, name=name)
        try:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError, OSError) as e:
            raise AuditError(f"cannot read checkpoint key {path}") from e
        if not isinstance(loaded, Ed25519PrivateKey):
            raise AuditError(f"checkpoint key {path} is not an Ed25519 key")
        return cls(loaded, name=name)

    def sign(self, origin: str, size: int, root: bytes) -> Checkpoint:
        """Return a checkpoint for ``size`` and ``root``, signed into a note."""
        body = checkpoint_body(origin, size, root)
        sig = self._private.sign(body.encode())
        line = base64.b64encode(self.verifier.key_hash + sig).decode()
        return Checkpoint(
            origin=origin, size=size, root_hash=root, note=f"{body}\n{_DASH} {self.name} {line}\n"
        )


def parse_checkpoint(note: str) -> tuple[Checkpoint, list[tuple[str, bytes, bytes]]]:
    """Split a signed note into its checkpoint and its ``(name, key_hash, signature)`` lines (unverified)."""
    text, sep, sigs = note.partition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise TamperError("malformed checkpoint: expected text, a blank line and signature lines")
    lines = text.split("\n")
    if len(lines) < 3 or not lines[0]:
        raise TamperError("malformed checkpoint: expected origin, tree size and root hash lines")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except (ValueError, binascii.Error) as e:
        raise TamperError("malformed checkpoint: bad tree size or root hash") from e
    if size < 0 or not lines[1].isdigit() or len(root) != 32:
        raise TamperError("malformed checkpoint: bad tree size or root hash")
    signatures = []
    for line in sigs[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH:
            raise TamperError("malformed checkpoint: bad signature line")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error as e:
            raise TamperError("malformed checkpoint: signature is not base64") from e
        if len(blob) < 5:
            raise TamperError("malformed checkpoint: signature too short")
        signatures.append((parts[1], blob[:4], blob[4:]))
    return Checkpoint(origin=lines[0], size=size, root_hash=root, note=note), signatures


def verify_checkpoint(note: str, key: str | VerifierKey, *, origin: str | None = None) -> Checkpoint:
    """Check a signed checkpoint note against a verifier key and return the checkpoint.

    Raises TamperError naming the reason: malformed note, no signature by this key (another key
    signed it), a bad signature, or an unexpected origin.
    """
    vkey = key if isinstance(key, VerifierKey) else VerifierKey.parse(key)
    checkpoint, signatures = parse_checkpoint(note)
    if origin is not None and checkpoint.origin != origin:
        raise TamperError(f"checkpoint origin {checkpoint.origin!r} is not the expected {origin!r}")
    mine = [s for name, kh, s in signatures if name == vkey.name and kh == vkey.key_hash]
    if not mine:
        raise TamperError(
            f"checkpoint is not signed by key {vkey.name}+{vkey.key_hash.hex()} (signed by another key)"
        )
    text = note.partition("\n\n")[0] + "\n"
    try:
        Ed25519PublicKey.from_public_bytes(vkey.public).verify(mine[0], text.encode())
    except InvalidSignature as e:
        raise TamperError("checkpoint signature does not verify") from e
    return checkpoint
