"""Every mark is read back before its image may be released.

A mark that its own image cannot produce would be a soft binding that nothing can resolve, so
the pipeline embeds, reads the mark back (from the image and from a copy as a re-upload would
make it) and re-embeds stronger where the image's texture drowns it.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from hallmark.errors import WatermarkError


def embed_checked(scheme: Any, image: Image.Image, payload: bytes) -> tuple[Image.Image, str]:
    """Embed, then read the mark back before the image may be released.

    The mark must first survive a reference shared copy (JPEG 75 at half size, what a re-upload
    does); images whose own texture drowns it (noise, foliage) are re-marked at the scheme's
    next strength.  When no strength survives that, the first mark that still decodes from the
    pristine image is kept and the weakness is recorded; when none decodes at all, the stage
    fails and the image is withheld.  Returns the marked image and a note for the record.
    """
    strengths = tuple(getattr(scheme, "strengths", (1.0,)))
    shareable = min(image.size) >= 2 * scheme.min_size
    luma_only = bool(getattr(scheme, "luma_only", False))
    # Marks whose shared copy did not decode, weakest first: the fallback if none survives.
    unshared: list[tuple[Image.Image, Image.Image, float]] = []
    for strength in strengths:
        marked = scheme.embed(image, payload, **({"strength": strength} if len(strengths) > 1 else {}))
        # What the scheme reads: for a luma-only scheme, the 8-bit luma plane, converted once.
        probe = marked.convert("L") if luma_only and marked.mode in _EIGHT_BIT else marked
        # The shared copy is the read that fails in practice, so it goes first. The pristine
        # image must decode as well: a downscaled copy can decode when the original does not
        # (downscaling averages away the texture that hides the mark).
        if shareable and not _reads(scheme, _shared_copy(probe), payload):
            unshared.append((marked, probe, strength))
            continue
        if _reads(scheme, probe, payload):
            note = "survives JPEG 75 at half size" if shareable else "too small to test a shared copy"
            return marked, _strength_note(strength, note)
    for marked, probe, strength in unshared:
        if _reads(scheme, probe, payload):
            return marked, _strength_note(strength, "reads back, but not after JPEG 75 at half size")
    raise WatermarkError(
        f"{scheme.scheme_id}: the mark did not read back at any strength {strengths}",
        hint="The image's texture drowns the mark; release with the manifest only if the policy allows.",
    )


def _reads(scheme: Any, image: Image.Image, payload: bytes) -> bool:
    """Whether a blind detection of ``image`` finds ``payload`` (a scheme's ``reads`` answers
    this without its error-correction search, when it has one)."""
    reads = getattr(scheme, "reads", None)
    if reads is not None:
        return bool(reads(image, payload))
    reading = scheme.detect(image)
    return bool(reading.found and reading.payload == payload)


_EIGHT_BIT = ("RGB", "RGBA", "L", "LA", "P", "PA")


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


def _strength_note(strength: float, note: str) -> str:
    return f"strength {strength}; {note}"
