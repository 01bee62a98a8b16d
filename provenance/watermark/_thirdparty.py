"""Known third-party invisible marks: Stable Diffusion XL (diffusers), SD 1.x and SD 2.x scripts.

All three use invisible-watermark's ``dwtDct`` method with a fixed public message, so reading
one tells where an image came from but identifies nothing more. The decision counts how many
of the message bits match and compares with a threshold chosen from measured clean-image
distributions; the false-positive probability is the binomial tail of that count for random
bits (times the number of reads). Not keyed, not robust: JPEG 90 already erases SDXL's mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
from PIL import Image

from ._types import WatermarkReading

_SCALE = 36.0  # invisible-watermark's dwtDct quantisation step on the U channel
_BLOCK = 4


@dataclass(frozen=True)
class KnownMark:
    """A fixed public message embedded with dwtDct by a known generator."""

    scheme_id: str
    maker: str
    bits: tuple[int, ...]
    threshold: int  # matching bits needed to report the mark (see the note on KNOWN_MARKS)
    reads: tuple[str, ...]  # "uint8": the BGR image as bytes; "float32": as floats (diffusers)


def _bits_of_bytes(data: bytes) -> tuple[int, ...]:
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(data, np.uint8)))


# diffusers/pipelines/stable_diffusion_xl/watermark.py: WATERMARK_MESSAGE, embedded as "bits".
_SDXL_BITS = tuple(int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:])

# Thresholds from 184 clean variants of scikit-image's photos (native, 512/768/1024 px, crops),
# read the same way: SDXL matched at most 32/48 bits (marked: 41+), SD 1.x at most 83/136
# (marked mostly 100+), SD 2.x at most 19/32 (marked: 25-32, dwtDct embeds it poorly in some
# photos). Each threshold sits between,
# with a binomial false-positive tail of 2e-4 (SDXL, two reads), 1e-7 (SD 1.x) and 3e-4 (SD 2.x).
KNOWN_MARKS: tuple[KnownMark, ...] = (
    KnownMark(
        "sdxl.dwtdct", "Stable Diffusion XL's reference pipeline", _SDXL_BITS, 37, ("uint8", "float32")
    ),
    KnownMark(
        "sd1.dwtdct",
        "Stable Diffusion 1.x's reference scripts",
        _bits_of_bytes(b"StableDiffusionV1"),
        98,
        ("uint8",),
    ),
    KnownMark(
        "sd2.dwtdct", "Stable Diffusion 2.x's reference scripts", _bits_of_bytes(b"SDV2"), 26, ("uint8",)
    ),
)


def block_scores(rgb: np.ndarray, *, as_float32: bool) -> np.ndarray:
    """Per-block bit reads of invisible-watermark's dwtDct decoder, in its block order, for an
    8-bit RGB array handed to it as uint8 BGR (SD scripts) or float32 BGR (diffusers).

    This is ``EmbedMaxDct.decode_frame`` vectorised: in each 4×4 block of the Haar
    approximation of the U channel, the largest non-DC coefficient's magnitude modulo the scale
    says 1 when it lies in the upper half. Bit ``i`` of an ``L``-bit message is the mean over
    the blocks numbered ``i (mod L)``. The band is bit-identical to invisible-watermark's
    (see ``u_approximation``), so the reads are too.
    """
    from ._dwt import blocks_of, u_approximation

    blocks = blocks_of(u_approximation(rgb, as_float32=as_float32), _BLOCK)
    flat = blocks.reshape(blocks.shape[0], _BLOCK * _BLOCK)
    pos = np.argmax(np.abs(flat[:, 1:]), axis=1) + 1
    val = np.abs(flat[np.arange(flat.shape[0]), pos])
    return ((val % _SCALE) > 0.5 * _SCALE).astype(np.float64)


def read_bits(scores: np.ndarray, length: int) -> np.ndarray:
    """The ``length`` message bits from per-block reads (as invisible-watermark averages them)."""
    from ._dwt import message_bits

    return message_bits(scores, length)


def _tail(n: int, k: int) -> float:
    """P(at least k of n fair coin flips come up matching)."""
    return sum(comb(n, i) for i in range(k, n + 1)) / 2.0**n


def detect_third_party(image: Image.Image) -> list[WatermarkReading]:
    """One reading per known third-party mark (SDXL, SD 1.x, SD 2.x), found or not.

    Images under 256×256 pixels cannot carry these marks (invisible-watermark refuses them);
    their readings say so instead of guessing.
    """
    w, h = image.size
    if w * h < 256 * 256:
        return [
            WatermarkReading(scheme_id=m.scheme_id, found=False, detail="image under 256×256: not readable")
            for m in KNOWN_MARKS
        ]
    rgb = np.asarray(image.convert("RGB"))
    # One read per way of handing the image over, shared by the three marks.
    scores = {kind: block_scores(rgb, as_float32=kind == "float32") for kind in ("uint8", "float32")}
    readings = []
    for mark in KNOWN_MARKS:
        n = len(mark.bits)
        target = np.array(mark.bits, np.uint8)
        matches = max(int((read_bits(scores[kind], n) == target).sum()) for kind in mark.reads)
        found = matches >= mark.threshold
        fpp = min(1.0, len(mark.reads) * _tail(n, matches))
        readings.append(
            WatermarkReading(
                scheme_id=mark.scheme_id,
                found=found,
                payload=None,
                bit_errors=n - matches,
                confidence=matches / n,
                false_positive_probability=fpp if found else None,
                detail=(f"made by {mark.maker}" if found else f"not the mark of {mark.maker}")
                + f" ({matches}/{n} bits match)",
            )
        )
    return readings
