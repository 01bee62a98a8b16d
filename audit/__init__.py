"""Remember: the append-only, tamper-evident audit log.

Entries form an RFC 6962 Merkle tree with a sha256 chain; tree heads are signed C2SP checkpoints;
inclusion and consistency proofs verify offline with only a checkpoint and the public key.
Stores are chosen by URL (``sqlite:///path``, ``postgresql://...``).  Imports only
``hallmark.errors`` and ``hallmark.registry``.
"""

if __name__ != "hallmark.audit":  # the folder sits at the repository's top level
    raise ImportError(f"import hallmark.audit, not {__name__}")

from ._checkpoint import Checkpoint, VerifierKey, parse_checkpoint, verify_checkpoint
from ._entry import EVENT_KINDS, AuditStats, Entry, LogCheck, MigrationResult, MissingFile, canonical_json
from ._log import KEY_FILE, AuditLog
from ._proofs import ConsistencyProof, InclusionProof, verify_consistency, verify_inclusion
from ._query import decisions_of
from ._seal import PersonalCipher
from ._store import AuditStore
from ._stores import STORES, open_store

__all__ = [
    "EVENT_KINDS",
    "KEY_FILE",
    "STORES",
    "AuditLog",
    "AuditStats",
    "AuditStore",
    "Checkpoint",
    "ConsistencyProof",
    "Entry",
    "InclusionProof",
    "LogCheck",
    "MigrationResult",
    "MissingFile",
    "PersonalCipher",
    "VerifierKey",
    "canonical_json",
    "decisions_of",
    "open_store",
    "parse_checkpoint",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
]
