"""Entries, verification results and the canonical encoding they are hashed in."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from hallmark.errors import AuditError, TamperError

# The events hallmark records; append refuses others so that a typo cannot start a new kind.
EVENT_KINDS = (
    "prompt.blocked",
    "image.blocked",
    "image.released",
    "generation.failed",
    "record.erased",
    "edit.refused",
)


_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only, exactly as both stores' SQL does it (hex is case-free)."""
    return text.translate(_LOWER)


def index_columns(data: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """The searchable columns of an entry: record id, watermark payload and sha256 (text only)."""
    rid, payload, sha = data.get("record_id"), data.get("payload"), data.get("sha256")
    return (
        rid if isinstance(rid, str) else None,
        ascii_lower(payload) if isinstance(payload, str) else None,
        ascii_lower(sha) if isinstance(sha, str) else None,
    )


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` as canonical JSON: sorted keys, no whitespace, UTF-8, no NaN."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()
    except (TypeError, ValueError) as e:
        raise AuditError(f"audit data is not JSON-serialisable: {e}") from e


def entry_bytes(
    created: str, data_json: bytes, index: int, kind: str, personal_json: bytes, prev: bytes | None
) -> bytes:
    """An entry's canonical JSON from its parts, the data already serialised (outside the lock).

    The top-level keys in sorted order: byte for byte what ``canonical_json`` gives for the whole
    entry (a test holds it to that), in less time under the log's lock.
    """
    return b"".join(
        (
            b'{"created":"',
            created.encode(),
            b'","data":',
            data_json,
            b',"index":',
            str(index).encode(),
            b',"kind":"',
            kind.encode(),
            b'","personal":',
            personal_json,
            b',"prev":',
            b'"' + prev.hex().encode() + b'"' if prev else b"null",
            b"}",
        )
    )


def rfc3339(moment: datetime | None) -> str:
    """Format a moment as RFC 3339 UTC with microseconds (``2026-11-24T21:00:00.000000Z``).

    The fixed width makes the text sort like the time it names, so stores can compare strings.
    """
    moment = moment if moment is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise AuditError("audit timestamps must be timezone-aware", hint="Pass now=datetime.now(UTC).")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str | datetime) -> datetime:
    """Read an RFC 3339 time or a date (taken as UTC midnight) into an aware datetime."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as e:
            raise AuditError(f"not an RFC 3339 time or date: {value!r}") from e
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    """One audit entry as stored: its place in the log, what happened, and its leaf hash.

    ``personal`` is the redacted prompt and user, or None when there was none or it was erased.
    """

    index: int
    kind: str
    created: str
    data: dict[str, Any]
    leaf_hash: str
    personal: dict[str, Any] | None = None
    prev_hash: str | None = None
    commitment: str | None = None

    def to_dict(self, *, include_personal: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not include_personal:
            d.pop("personal")
        return d


def decode_entry(index: int, body: bytes, leaf: bytes, personal: tuple[bytes, str] | None) -> Entry:
    """The entry stored as ``body`` with leaf hash ``leaf`` and its personal row (salt, data), if any."""
    try:
        obj = json.loads(body)
        return Entry(
            index=index,
            kind=obj["kind"],
            created=obj["created"],
            data=obj["data"],
            leaf_hash=leaf.hex(),
            personal=json.loads(personal[1]) if personal else None,
            prev_hash=obj.get("prev"),
            commitment=obj.get("personal"),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise TamperError(
            f"audit entry {index} is not a well-formed entry", hint="Run `hallmark audit verify`."
        ) from e


@dataclass(frozen=True)
class MissingFile:
    """An ``image.released`` entry whose image is not at its recorded path."""

    index: int
    record_id: str | None
    path: str


@dataclass(frozen=True)
class WitnessCheck:
    """Whether one registered witness cosigned a checkpoint at least as new as the newest one
    kept outside the log: the largest size it cosigned, when, and why not if it did not."""

    name: str
    ok: bool
    size: int | None = None
    timestamp: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class LogCheck:
    """The result of verifying a whole log: ok, its signed size, the first bad index and why.

    ``ok`` says nothing was found wrong.  ``verified`` says more: the checkpoint key came from
    outside the log (``key_source`` "argument" or "key file", not "log") and the log was held to
    a checkpoint kept outside it (``anchors``); ``unchecked`` says what could not be checked and
    how to check it.  ``status`` is "verified", "unchecked" or "failed".
    """

    ok: bool
    size: int
    first_bad_index: int | None = None
    reason: str = ""
    missing_files: list[MissingFile] = field(default_factory=list)
    root_hash: str = ""
    checked: int = 0
    key_source: str = ""
    key_path: str | None = None
    verifier_key: str = ""
    anchors: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    orphan_records: list[str] = field(default_factory=list)
    witnesses: list[WitnessCheck] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.ok and not self.unchecked

    @property
    def status(self) -> str:
        return "failed" if not self.ok else "unchecked" if self.unchecked else "verified"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"status": self.status}


@dataclass(frozen=True)
class AuditStats:
    """Counts per kind, decision, category, policy, model and day."""

    total: int
    by_kind: dict[str, int]
    by_decision: dict[str, int]
    by_category: dict[str, int]
    by_policy: dict[str, int]
    by_model: dict[str, int]
    by_day: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MigrationResult:
    """A finished migration: how many entries, and the root hash both stores agree on."""

    source: str
    target: str
    size: int
    root_hash: str
