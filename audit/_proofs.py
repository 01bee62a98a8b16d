"""Inclusion and consistency proofs as portable JSON, verified offline with a checkpoint and a key.

A third party needs nothing from hallmark's database: the proof carries the entry (its canonical
JSON), the audit path and the signed checkpoint; the verifier supplies the public key it trusts.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from hallmark.errors import TamperError

from ._checkpoint import Checkpoint, VerifierKey, verify_checkpoint
from ._merkle import check_consistency, check_inclusion, hash_leaf


def _hashes_out(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def _hashes_in(items: Any) -> list[bytes]:
    if not isinstance(items, list):
        raise TamperError("malformed proof: hashes must be a list")
    try:
        out = [base64.b64decode(h, validate=True) for h in items]
    except (binascii.Error, TypeError, ValueError) as e:
        raise TamperError("malformed proof: a hash is not base64") from e
    if any(len(h) != 32 for h in out):
        raise TamperError("malformed proof: a hash is not 32 bytes")
    return out


@dataclass(frozen=True)
class InclusionProof:
    """Proof that ``entry`` is leaf ``index`` of the tree signed in ``checkpoint``."""

    index: int
    tree_size: int
    entry: str
    hashes: list[bytes]
    checkpoint: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "inclusion",
            "index": self.index,
            "tree_size": self.tree_size,
            "entry": self.entry,
            "leaf_hash": base64.b64encode(hash_leaf(self.entry.encode())).decode(),
            "hashes": _hashes_out(self.hashes),
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InclusionProof:
        """Read a proof written by ``to_dict``; malformed input raises TamperError."""
        try:
            if d.get("type") != "inclusion":
                raise TamperError("not an inclusion proof")
            return cls(
                index=int(d["index"]),
                tree_size=int(d["tree_size"]),
                entry=str(d["entry"]),
                hashes=_hashes_in(d["hashes"]),
                checkpoint=str(d["checkpoint"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise TamperError(f"malformed inclusion proof: {type(e).__name__}") from e


@dataclass(frozen=True)
class ConsistencyProof:
    """Proof that the tree signed in ``old_checkpoint`` is a prefix of the one in ``new_checkpoint``."""

    old_checkpoint: str
    new_checkpoint: str
    hashes: list[bytes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "consistency",
            "old_checkpoint": self.old_checkpoint,
            "new_checkpoint": self.new_checkpoint,
            "hashes": _hashes_out(self.hashes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConsistencyProof:
        """Read a proof written by ``to_dict``; malformed input raises TamperError."""
        try:
            if d.get("type") != "consistency":
                raise TamperError("not a consistency proof")
            return cls(
                old_checkpoint=str(d["old_checkpoint"]),
                new_checkpoint=str(d["new_checkpoint"]),
                hashes=_hashes_in(d["hashes"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise TamperError(f"malformed consistency proof: {type(e).__name__}") from e


def verify_inclusion(proof: InclusionProof | dict[str, Any], key: str | VerifierKey) -> Checkpoint:
    """Check an inclusion proof offline: the checkpoint's signature, its size, and the audit path.

    Returns the verified checkpoint; raises TamperError with the reason otherwise (another key,
    a proof for another tree, a wrong entry).
    """
    p = InclusionProof.from_dict(proof) if isinstance(proof, dict) else proof
    checkpoint = verify_checkpoint(p.checkpoint, key)
    if checkpoint.size != p.tree_size:
        raise TamperError(
            f"inclusion proof is for a tree of size {p.tree_size} but the checkpoint is for size {checkpoint.size}"
        )
    check_inclusion(hash_leaf(p.entry.encode()), p.index, p.tree_size, p.hashes, checkpoint.root_hash)
    return checkpoint


def verify_consistency(
    proof: ConsistencyProof | dict[str, Any], key: str | VerifierKey
) -> tuple[Checkpoint, Checkpoint]:
    """Check a consistency proof offline: both checkpoints' signatures, same origin, and the path.

    Returns (old, new) verified checkpoints; raises TamperError with the reason otherwise.
    """
    p = ConsistencyProof.from_dict(proof) if isinstance(proof, dict) else proof
    old = verify_checkpoint(p.old_checkpoint, key)
    new = verify_checkpoint(p.new_checkpoint, key)
    if old.origin != new.origin:
        raise TamperError(f"checkpoints are from different logs: {old.origin!r} and {new.origin!r}")
    check_consistency(old.size, new.size, old.root_hash, new.root_hash, p.hashes)
    return old, new
