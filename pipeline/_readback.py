"""Every mark is read back from the bytes that are released before its soft binding is signed.

A manifest that claims a soft binding its own image cannot produce is a broken promise: nothing
can resolve it.  So the pipeline marks the image, encodes it as it will be written (format,
quality, metadata labels), decodes those bytes as ``hallmark verify`` decodes a file, and runs
the scheme's own detector on them.  It also reads the mark from a copy as a re-upload would
make it (JPEG 75 at half size).  Where either fails, the image is marked again at the scheme's
next strength (``wm1`` scales its texture-masked, range-aware amplitude, so flat, white, black
and saturated areas take more of the mark).  When no strength reads back from the released
bytes, the image is *unreadable*: the policy's ``watermark.on_unreadable`` decides whether it is
withheld or released flagged, and a flagged image is signed without a soft-binding assertion.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image

from hallmark.errors import WatermarkCapacityError, WatermarkError

if TYPE_CHECKING:
    from hallmark.policies import WatermarkPolicy

# What an encoder turns a marked image into: the bytes that will be written (labels applied).
Encoder = Callable[[Image.Image], bytes]


@dataclass(frozen=True)
class MarkedRelease:
    """The outcome of marking one image for release.

    ``data`` is the encoded image (the bytes that are signed and written), ``readable`` whether
    the scheme's detector finds ``payload`` in those bytes, ``note`` what the record says,
    ``stages`` what the manifest's and the audit entry's stage list say about it."""

    image: Image.Image
    data: bytes
    readable: bool
    note: str
    payload: bytes | None = None
    stages: dict[str, str] = field(default_factory=dict)


def release_marked(
    scheme: Any, image: Image.Image, *, record_id: bytes, encode: Encoder, policy: WatermarkPolicy
) -> MarkedRelease:
    """The watermark stage by the policy: mark ``image`` for the record and read it back
    (``mark_for_release``), or say why not.

    A disabled stage, an image smaller than the scheme marks (``on_too_small``) and a mark
    that does not read back (``on_unreadable``) are recorded in ``stages``; the refusals
    (``refuse``, ``withhold``) raise WatermarkError.  ``stages["watermark_readable"]`` is
    ``"true"`` only when the mark reads back from the released bytes: only then may the
    manifest carry a soft binding."""
    if scheme is None:
        return _unmarked(image, encode, {"watermark": "skipped: disabled by policy"})
    if min(image.size) < scheme.min_size:
        reason = (
            f"image {image.size[0]}x{image.size[1]} is smaller than {scheme.scheme_id} can mark "
            f"({scheme.min_size} px)"
        )
        if policy.on_too_small == "refuse":
            raise WatermarkCapacityError(reason)
        return _unmarked(
            image, encode, {"watermark": f"skipped: {reason}; policy releases with the manifest only"}
        )
    from hallmark.provenance import payload_for_record

    payload = payload_for_record(record_id, scheme.payload_bits)
    release = mark_for_release(scheme, image, payload, encode=encode)
    if release.readable:
        stages = {"watermark": f"applied: {scheme.scheme_id} ({release.note})", "watermark_readable": "true"}
    elif policy.on_unreadable == "withhold":
        raise WatermarkError(f"{scheme.scheme_id}: the mark {release.note}; the policy withholds the image")
    else:
        stages = {
            "watermark": f"unreadable: {scheme.scheme_id} ({release.note}); the policy flags it",
            "watermark_readable": "false",
            "soft_binding": "omitted: the image's own mark does not read back",
        }
    return MarkedRelease(release.image, release.data, release.readable, release.note, release.payload, stages)


def _unmarked(image: Image.Image, encode: Encoder, stages: dict[str, str]) -> MarkedRelease:
    return MarkedRelease(image, encode(image), False, "", None, {**stages, "watermark_readable": "false"})


def mark_for_release(scheme: Any, image: Image.Image, payload: bytes, *, encode: Encoder) -> MarkedRelease:
    """Embed, encode, and read the mark back from the encoded bytes, re-embedding stronger
    until it reads.

    At each of the scheme's strengths (weakest first) the marked image is encoded with
    ``encode`` and the bytes are decoded as verify decodes them; the scheme's ``detect`` must
    find ``payload`` there, and a shared copy of the decoded image (JPEG 75 at half size) should
    decode too.  The first strength that passes both is released; else the first whose own bytes
    read back (the shared-copy weakness is recorded); else the image is unreadable and the
    weakest mark is returned with ``readable`` False.  An image with no room for a mark at all
    (uniformly black or white) is unreadable without being marked.  Other embedding errors
    are raised."""
    strengths = tuple(getattr(scheme, "strengths", (1.0,)))
    shareable = min(image.size) >= 2 * scheme.min_size
    fallback: MarkedRelease | None = None
    weakest: MarkedRelease | None = None
    for strength in strengths:
        try:
            marked = scheme.embed(image, payload, **({"strength": strength} if len(strengths) > 1 else {}))
        except WatermarkCapacityError as e:  # nothing was marked: no payload to record
            return MarkedRelease(image, encode(image), False, f"no room for a mark: {e}")
        data = encode(marked)
        released = decode_as_verify(data)
        if not _detects(scheme, released, payload):
            weakest = weakest or MarkedRelease(marked, data, False, "", payload)
            continue
        if not shareable:
            return MarkedRelease(
                marked, data, True, _note(strength, "too small to test a shared copy"), payload
            )
        if _reads(scheme, _shared_copy(_probe(scheme, released)), payload):
            return MarkedRelease(
                marked, data, True, _note(strength, "survives JPEG 75 at half size"), payload
            )
        fallback = fallback or MarkedRelease(
            marked, data, True, _note(strength, "reads back, but not after JPEG 75 at half size"), payload
        )
    if fallback is not None:
        return fallback
    assert weakest is not None
    note = f"does not read back from the released image at any strength {strengths}"
    return MarkedRelease(weakest.image, weakest.data, False, note, payload)


def decode_as_verify(data: bytes) -> Image.Image:
    """The pixels ``hallmark verify`` reads from ``data``: the first frame, as RGB."""
    from hallmark.provenance import decode_pixels

    pixels, why = decode_pixels(data)
    if pixels is None:
        raise WatermarkError(f"the encoded image does not decode: {why}")
    return pixels


def encode_image(image: Image.Image, *, fmt: str, output: Any) -> bytes:
    """``image`` as ``fmt`` bytes with the output policy's settings (PNG level, JPEG and WebP
    quality)."""
    from ._png import encode_png

    if fmt == "png":
        return encode_png(image, compress_level=output.png_compress_level)
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.save(buf, format="JPEG", quality=output.jpeg_quality)
    else:
        image.save(buf, format="WEBP", quality=output.webp_quality)
    return buf.getvalue()


def _detects(scheme: Any, image: Image.Image, payload: bytes) -> bool:
    """Whether the scheme's blind detector, the one verify runs, finds ``payload``."""
    reading = scheme.detect(image)
    return bool(reading.found and reading.payload == payload)


def _reads(scheme: Any, image: Image.Image, payload: bytes) -> bool:
    """Whether a blind detection of ``image`` finds ``payload`` (a scheme's ``reads`` answers
    this without its error-correction search, when it has one)."""
    reads = getattr(scheme, "reads", None)
    if reads is not None:
        return bool(reads(image, payload))
    return _detects(scheme, image, payload)


_EIGHT_BIT = ("RGB", "RGBA", "L", "LA", "P", "PA")


def _probe(scheme: Any, image: Image.Image) -> Image.Image:
    """What the scheme reads: for a luma-only scheme, the 8-bit luma plane, converted once."""
    if getattr(scheme, "luma_only", False) and image.mode in _EIGHT_BIT:
        return image.convert("L")
    return image


def _shared_copy(image: Image.Image) -> Image.Image:
    """What a re-upload typically does to an image: half size (bilinear), JPEG quality 75.

    A greyscale ("L") image stays greyscale: for the luma of a colour image that is the same Y
    plane a colour JPEG carries (libjpeg's RGB->Y is PIL's "L" conversion, and Y is quantised
    alone), for a third of the work.  Other modes are copied as RGB.  The JPEG round trip is
    OpenCV's libjpeg-turbo, which gives Pillow's pixels (tested) and releases the GIL."""
    import cv2
    import numpy as np

    plane = image if image.mode in ("L", "RGB") else image.convert("RGB")
    half = _halve(np.asarray(plane))
    colour = plane.mode == "RGB"
    ok, jpeg = cv2.imencode(".jpg", half[:, :, ::-1] if colour else half, [cv2.IMWRITE_JPEG_QUALITY, 75])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE) if ok else None
    if decoded is None:
        raise WatermarkError("the shared copy's JPEG round trip failed")
    return Image.fromarray(np.ascontiguousarray(decoded[:, :, ::-1]) if colour else decoded, plane.mode)


def _halve(pixels: Any) -> Any:
    """8-bit pixels at half size, as PIL's bilinear resize makes them (to rounding, and the edge
    rows): bilinear halving is the [1, 3, 3, 1]/8 filter at stride 2, which is [1, 2, 1]/4
    followed by 2×2 averaging, two OpenCV passes at a third of the time of PIL's resampler."""
    import cv2

    blurred = cv2.GaussianBlur(pixels, (3, 3), 0, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(blurred, (pixels.shape[1] // 2, pixels.shape[0] // 2), interpolation=cv2.INTER_AREA)


def _note(strength: float, note: str) -> str:
    return f"strength {strength}; {note}"
