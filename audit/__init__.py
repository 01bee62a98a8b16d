"""Remember: the append-only, tamper-evident audit log.

Entries form an RFC 6962 Merkle tree with a sha256 chain; tree heads are signed C2SP checkpoints;
inclusion and consistency proofs verify offline with only a checkpoint and the public key.  The
newest checkpoint is also kept in a file outside the database (``CheckpointFile``), copies can be
kept anywhere, and witnesses can cosign it (C2SP tlog-witness): ``verify_log`` opens a log
read-only and holds it to all of them, so a log wiped, rolled back, forked or rebuilt under
another key does not verify.  Stores are chosen by URL (``sqlite:///path``, ``postgresql://...``).
Imports only ``hallmark.errors`` and ``hallmark.registry``.
"""

if __name__ != "hallmark.audit":  # the folder sits at the repository's top level
    raise ImportError(f"import hallmark.audit, not {__name__}")

from ._checkpoint import (
    CHECKPOINT_FILE,
    KEY_FILE,
    Checkpoint,
    VerifierKey,
    parse_checkpoint,
    verify_checkpoint,
)
from ._cosign import WitnessKey, cosign, cosignature_time
from ._entry import (
    EVENT_KINDS,
    AuditStats,
    Entry,
    LogCheck,
    MigrationResult,
    MissingFile,
    WitnessCheck,
    canonical_json,
)
from ._group import AuditEvent
from ._log import AuditLog
from ._pin import CheckpointFile
from ._proofs import ConsistencyProof, InclusionProof, verify_consistency, verify_inclusion
from ._query import decisions_of
from ._seal import PersonalCipher
from ._store import AuditStore
from ._stores import STORES, open_store
from ._verify import verify_log
from ._witness import Submission, Witness, WitnessList, request_cosignatures

__all__ = [
    "CHECKPOINT_FILE",
    "EVENT_KINDS",
    "KEY_FILE",
    "STORES",
    "AuditEvent",
    "AuditLog",
    "AuditStats",
    "AuditStore",
    "Checkpoint",
    "CheckpointFile",
    "ConsistencyProof",
    "Entry",
    "InclusionProof",
    "LogCheck",
    "MigrationResult",
    "MissingFile",
    "PersonalCipher",
    "Submission",
    "VerifierKey",
    "Witness",
    "WitnessCheck",
    "WitnessKey",
    "WitnessList",
    "canonical_json",
    "cosign",
    "cosignature_time",
    "decisions_of",
    "open_store",
    "parse_checkpoint",
    "request_cosignatures",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
]
