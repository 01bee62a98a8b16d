"""Exactly-once release of a request that carries its own id.

A queue delivers a job at least once: a worker that dies mid-request leaves its job to another
worker.  When the caller names the request (``GuardedPipeline(..., request_id=...)``), the
record id of image k and the default seed are derived from the request id, so a second run of
the same request produces the same record ids, and the audit log, which every run consults
before releasing, is the arbiter: an image whose record is already committed is returned from
its entry, never generated and released again.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hallmark.errors import PipelineError

from ._durable import fsync_dir
from ._results import GenerationResult, ReleasedImage, WithheldImage

if TYPE_CHECKING:
    from hallmark.audit import AuditLog, Entry

# The kinds of entry that settle one image of a request: it was released, blocked or failed.
SETTLED = ("image.released", "image.blocked", "generation.failed")
# A release's temporary file holds the image with its first 16 bytes zeroed (sealed) until its
# audit entry commits.  A release interrupted between the two is finished from that file when one
# of the heads below, put back, gives the sha256 the entry recorded; nothing else is ever renamed.
SEALED = 16
# Every PNG hallmark writes: the signature, then the IHDR chunk's length (13) and type.
_PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def parse_request_id(text: str) -> uuid.UUID:
    """The request id a caller chose: a UUID (``hallmark.pipeline.new_record_id()`` makes one)."""
    try:
        return uuid.UUID(str(text))
    except ValueError as e:
        raise PipelineError(
            f"request id must be a UUID, got {text!r}",
            hint="Make one with hallmark.pipeline.new_record_id().",
        ) from e


def image_record_id(request_id: uuid.UUID, index: int) -> uuid.UUID:
    """The record id of image ``index`` of a named request: a UUIDv7 that keeps the request id's
    milliseconds, with its 74 other bits taken from sha256(request id, index)."""
    digest = int.from_bytes(hashlib.sha256(request_id.bytes + index.to_bytes(4, "big")).digest()[:16], "big")
    ms = request_id.int >> 80 if request_id.version == 7 else digest >> 80
    value = (
        (ms << 80) | (0x7 << 76) | (((digest >> 64) & 0xFFF) << 64) | (0b10 << 62) | (digest & (2**62 - 1))
    )
    return uuid.UUID(int=value)


def request_seed(request_id: uuid.UUID) -> int:
    """The seed of a named request that did not choose one: the same on every run of it."""
    return int.from_bytes(hashlib.sha256(b"seed" + request_id.bytes).digest()[:4], "big") % 2**31


def settled_entries(audit: AuditLog, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, Entry]:
    """The entry that settled each of ``record_ids`` already, for those the log holds."""
    found: dict[uuid.UUID, Entry] = {}
    for rid in record_ids:
        for entry in audit.find(record_id=str(rid)):
            if entry.kind in SETTLED:
                found[rid] = entry
                break
    return found


def blocked_before(audit: AuditLog, request_id: str) -> bool:
    """Whether an earlier run of the named request already recorded its prompt as blocked."""
    return any(e.kind == "prompt.blocked" for e in audit.find(record_id=request_id))


def from_entry(entry: Entry) -> ReleasedImage | WithheldImage:
    """What a request's earlier run gave for one image, read back from its audit entry."""
    from hallmark.guardrails import Action, CheckStatus, ImageVerdict

    data = entry.data
    image: dict[str, Any] | None = (data.get("decisions") or {}).get("image")
    verdict = (
        ImageVerdict(
            action=Action(image["action"]),
            scores=dict(image.get("scores") or {}),
            state=CheckStatus(image.get("state", "checked")),
            classifier=image.get("classifier", ""),
            reason=image.get("reason", ""),
        )
        if image
        else None
    )
    if entry.kind == "image.blocked":
        return WithheldImage(data["record_id"], "blocked", verdict, entry.index)
    if entry.kind == "generation.failed":
        reason = f"failed:{data.get('stage', 'unknown')}"
        return WithheldImage(data["record_id"], reason, verdict, entry.index, data.get("error", ""))
    path = Path(data["path"])
    _finish_interrupted_release(path, data["record_id"], data["sha256"])
    return ReleasedImage(
        record_id=data["record_id"],
        path=path,
        sha256=data["sha256"],
        payload=data.get("payload"),
        scheme_id=data.get("scheme_id"),
        verdict=verdict or ImageVerdict(action=Action.ALLOW, state=CheckStatus.NOT_CHECKED),
        audit_index=entry.index,
        timings_ms={},
        watermark_readable=bool(data.get("watermark_readable")),
    )


def _finish_interrupted_release(path: Path, record_id: str, sha256: str) -> None:
    """Rename a committed image's sealed temporary file into place when a run died between its
    audit entry and its rename, once a head from ``sealed_heads`` restores the recorded bytes."""
    tmp = path.with_name(f".{record_id}{path.suffix}.tmp")
    if path.exists() or not tmp.is_file():
        return
    data = tmp.read_bytes()
    for head in sealed_heads(path.suffix, data):
        if hashlib.sha256(head + data[SEALED:]).hexdigest() == sha256:
            break
    else:
        return  # not the bytes that were recorded: leave it for `hallmark audit verify` to report
    with open(tmp, "r+b") as f:
        f.write(head)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def sealed_heads(suffix: str, data: bytes) -> list[bytes]:
    """The first 16 bytes a sealed temporary file ``data`` (named ``*{suffix}.tmp``) can have had,
    from what hallmark's encoders write: the file's own (a run that died after unsealing it), then
    PNG's fixed head; for WebP the RIFF header, whose size the file's length gives, and each
    first chunk; for JPEG the JFIF segment Pillow writes, its horizontal density taken equal to the
    vertical one that follows it.  Only a head that gives the recorded sha256 is ever used."""
    heads = [data[:SEALED]]
    if suffix == ".png":
        heads.append(_PNG_HEAD)
    elif suffix == ".webp":
        riff = b"RIFF" + (len(data) - 8).to_bytes(4, "little") + b"WEBP"
        heads += [riff + chunk for chunk in (b"VP8X", b"VP8 ", b"VP8L")]
    elif suffix in (".jpg", ".jpeg") and len(data) >= 18:
        density = data[16:18]  # Ydensity, after the sealed bytes
        heads += [
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes([1, minor, units]) + density
            for minor in (1, 2)
            for units in (0, 1, 2)
        ]
    return [h for h in dict.fromkeys(heads) if len(h) == SEALED]


def add_settled(result: GenerationResult, entries: list[Entry]) -> None:
    """Put the images an earlier run of the request settled into ``result``, in index order."""
    for entry in sorted(entries, key=lambda e: e.index):
        item = from_entry(entry)
        (result.images if isinstance(item, ReleasedImage) else result.withheld).append(item)  # type: ignore[arg-type]
