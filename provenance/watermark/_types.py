"""The watermark plug-in protocol and what a detector returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from PIL import Image


@dataclass(frozen=True)
class MarkGrid:
    """Where the chips of a tiled mark lie in the image it was read from: the centre of one chip
    (0, 0) and the step from a chip to the next along the mark's x and y, all in pixels as (x, y)
    with pixel (i, j) covering [i, i + 1) x [j, j + 1).  The pattern repeats every ``tile``
    chips, so the origin is known only up to whole tiles; which tile it is, the mark cannot say.

    This is the geometric registration that lets a content fingerprint be compared in the frame
    of the image the mark was embedded in, through crops, rescaling and small rotations."""

    origin: tuple[float, float]
    step_x: tuple[float, float]
    step_y: tuple[float, float]
    tile: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": [round(v, 3) for v in self.origin],
            "step_x": [round(v, 4) for v in self.step_x],
            "step_y": [round(v, 4) for v in self.step_y],
            "tile": self.tile,
        }


@dataclass(frozen=True)
class WatermarkReading:
    """What one scheme read from one image.

    ``found`` is the scheme's decision; ``payload`` the decoded data bits (bytes) when found;
    ``bit_errors`` the number of codeword bits that error correction repaired (or, for schemes
    that match a fixed pattern, the bits that disagree); ``false_positive_probability`` the
    probability that an unmarked image yields this decision: for our payload schemes, that one
    detection decodes any payload at all, whatever its bit errors, never below the rate measured
    through the decoder; for fixed-pattern marks, a match at least this strong.  ``grid`` says
    where the mark's chips were found, for schemes that register the mark geometrically.
    """

    scheme_id: str
    found: bool
    payload: bytes | None = None
    bit_errors: int | None = None
    confidence: float = 0.0
    false_positive_probability: float | None = None
    detail: str = ""
    grid: MarkGrid | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "scheme_id": self.scheme_id,
            "found": self.found,
            "payload": self.payload.hex() if self.payload is not None else None,
            "bit_errors": self.bit_errors,
            "confidence": round(float(self.confidence), 4),
            "false_positive_probability": self.false_positive_probability,
            "detail": self.detail,
            "grid": self.grid.to_dict() if self.grid is not None else None,
        }


@runtime_checkable
class WatermarkScheme(Protocol):
    """A keyed invisible watermark carrying ``payload_bits`` of data.

    A scheme may also declare ``strengths: tuple[float, ...]`` (1.0 first) and then accept
    ``embed(image, payload, *, strength=s)``: the pipeline reads every mark back before release
    and re-embeds at the next strength when it does not decode.  A scheme may also offer
    ``reads(image, payload) -> bool``, the same answer as ``detect(image).payload == payload``
    computed more cheaply; the pipeline's read-back uses it when present.  A scheme that reads
    nothing of an 8-bit image but its Rec. 601 luma (PIL's "L" conversion) may declare
    ``luma_only = True``: the read-back then reads that plane, and tests a greyscale shared
    copy, a third of the work of a colour one.
    """

    scheme_id: str
    payload_bits: int
    min_size: int  # the shortest side, in pixels, the scheme can mark

    def embed(self, image: Image.Image, payload: bytes) -> Image.Image: ...

    def detect(self, image: Image.Image) -> WatermarkReading: ...


def payload_for_record(record_id: bytes, bits: int) -> bytes:
    """The watermark payload that identifies an audit record: the first ``bits`` of
    sha256("hallmark.payload" || record id bytes), as bytes (``bits`` must be a multiple of 8).

    Derived rather than random so that the audit log can be searched by payload, and hashed so
    that the payload reveals nothing (not even the time) about the record without the log.
    """
    import hashlib

    if bits % 8 or bits <= 0:
        raise ValueError("payload bits must be a positive multiple of 8")
    return hashlib.sha256(b"hallmark.payload" + record_id).digest()[: bits // 8]
