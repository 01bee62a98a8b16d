"""The first scheme, ``hallmark.dwtdctsvd-bch``: invisible-watermark's dwtDctSvd carrying a
48-bit payload protected by BCH(t=6) and XORed with a keyed mask.

It survives re-encoding (JPEG 75) but not crops, rotation or strong brightness changes; the
robust scheme of our own is ``hallmark.wm1``. It stays decodable because images marked with it
exist.

Reading does not call invisible-watermark: its decoder runs a 4×4 DCT and SVD per block in
Python loops (0.4-1.6 s at 1024 px). ``svd_block_scores`` computes the same reads for all
blocks at once (~20 ms); embedding still goes through invisible-watermark's encoder.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

from hallmark.errors import WatermarkError

from ._codec import PayloadCode, check_key
from ._image import open_canvas
from ._types import WatermarkReading


@functools.cache
def imwatermark_module(name: str) -> ModuleType:
    """One of invisible-watermark's pure numpy/OpenCV modules (``maxDct``, ``dwtDctSvd``).

    ``import imwatermark`` runs its package ``__init__``, which imports rivaGan and with it torch
    (1-2 s, ~300 MB) although dwtDct and dwtDctSvd never use it; ``hallmark verify`` must start
    fast, so the module file is loaded on its own unless the package is already imported.
    """
    if "imwatermark" in sys.modules:
        return importlib.import_module(f"imwatermark.{name}")
    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        raise WatermarkError(
            "invisible-watermark is not installed",
            hint="pip install invisible-watermark==0.2.0 (a dependency of hallmark).",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / f"{name}.py"
    mod_spec = importlib.util.spec_from_file_location(f"_hallmark_imwatermark_{name}", path)
    if mod_spec is None or mod_spec.loader is None:
        raise WatermarkError(f"cannot load invisible-watermark's {name} module")
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


def to_bgr(rgb: np.ndarray) -> np.ndarray:
    """RGB float planes as the contiguous float32 BGR array invisible-watermark expects."""
    return np.ascontiguousarray(rgb[:, :, ::-1], dtype=np.float32)


_HAAR_TAP = 0.7071067811865476  # pywt's Haar filter coefficient (both taps)
_BLOCK = 4  # invisible-watermark's block side on the approximation band
_SVD_SCALE = 36.0  # the quantisation step DwtDctSvdBch embeds with (scales=[0, 36, 0])
_STRIP_ROWS = 128  # image rows converted at a time (a multiple of 4: whole Haar pairs and blocks)


def u_approximation(rgb: np.ndarray, *, as_float32: bool) -> np.ndarray:
    """The level-1 Haar approximation band of the U channel of an 8-bit RGB array, bit for bit
    as invisible-watermark computes it from the BGR array it is handed.

    ``as_float32`` reads the image the way a caller passing float32 BGR does (diffusers, our
    scheme): OpenCV's float YUV conversion, then pywt's float32 arithmetic; otherwise the uint8
    conversion and float64 arithmetic. The Haar step is pywt's own sum of products, in its order,
    so the band is identical, not merely close. Strips of rows keep the temporaries in cache:
    whole-image float planes cost 3-5× more in page faults than the arithmetic.
    """
    import cv2

    rows, cols = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    rgb = np.ascontiguousarray(rgb, np.uint8)
    tap = np.float32(_HAAR_TAP) if as_float32 else np.float64(_HAAR_TAP)
    band = np.empty((rows // 2, cols // 2), np.float32 if as_float32 else np.float64)
    for top in range(0, rows, _STRIP_ROWS):
        part = rgb[top : min(top + _STRIP_ROWS, rows), :cols]
        if as_float32:
            # OpenCV's float BGR->YUV and RGB->YUV round differently: convert as callers do.
            bgr = cv2.cvtColor(part, cv2.COLOR_RGB2BGR).astype(np.float32)
            u = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[:, :, 1]
        else:  # the integer conversion is exact either way round: no channel swap
            u = cv2.cvtColor(part, cv2.COLOR_RGB2YUV)[:, :, 1].astype(np.float64)
        half = tap * u[1::2] + tap * u[0::2]
        band[top // 2 : top // 2 + half.shape[0]] = tap * half[:, 1::2] + tap * half[:, 0::2]
    return band


def blocks_of(band: np.ndarray, block: int = _BLOCK) -> np.ndarray:
    """The whole ``block``×``block`` tiles of ``band`` as an (N, block, block) stack, row by row:
    invisible-watermark's block numbering (bit ``i`` of an L-bit message sits in blocks i mod L)."""
    r, c = band.shape[0] // block, band.shape[1] // block
    tiles = band[: r * block, : c * block].reshape(r, block, c, block).transpose(0, 2, 1, 3)
    return tiles.reshape(r * c, block, block)


def svd_block_scores(rgb: np.ndarray, *, scale: float = _SVD_SCALE) -> np.ndarray:
    """Per-block reads of invisible-watermark's ``EmbedDwtDctSvd.decode_frame``, vectorised: 1
    where the largest singular value of the block's DCT, modulo ``scale``, lies above half of it.

    The 2-D DCT of a 4×4 block is C·B·Cᵀ with C orthonormal, so it has the same singular values
    as the block itself: the square roots of the eigenvalues of G = BᵀB. Only which half-step
    interval the largest one falls in matters, so ``_interval_reads`` brackets it cheaply and
    exactly for nearly every block, with LAPACK for the rest. Computed in float64 from the exact
    float32 band, a read can differ from invisible-watermark's float32 DCT+SVD only for a block
    within ~1e-4 of a decision edge (measured: none of 640,000 blocks of photos, noise and JPEGs).
    """
    blocks = blocks_of(u_approximation(rgb, as_float32=True)).astype(np.float64)
    return _interval_reads(np.matmul(blocks.transpose(0, 2, 1), blocks), scale=scale)


_MARGIN = 1e-9  # relative slack on both bounds: far above float64 rounding (~1e-15)


def _interval_reads(gram: np.ndarray, *, scale: float) -> np.ndarray:
    """For PSD 4×4 matrices G (N, 4, 4): 1.0 where sqrt(λmax(G)) mod ``scale`` > scale/2.

    A few power steps give a Rayleigh quotient ρ ≤ λmax, so s = sqrt(λmax) ≥ lo = sqrt(ρ)·(1-ε)
    and k = floor(lo / half) is a certain lower interval. Then σ·I - G with σ = (half·(k+1))²·(1-ε)
    is positive definite, which an unpivoted Cholesky proves (it succeeds only when σ exceeds
    λmax up to ~1e-15·σ of rounding), exactly when s lies below the next edge: the read is k's
    parity. Blocks where the proof fails (a near edge, a close second singular value) get
    ``eigvalsh``: ~0.01% of a photo's blocks, 1-3% of pure noise. Four times faster than
    ``eigvalsh`` on every block, and the same reads.
    """
    half = 0.5 * scale
    n = gram.shape[0]
    v = gram[np.arange(n), :, np.argmax(np.einsum("nii->ni", gram), axis=1)]  # largest column
    for _ in range(3):
        v = np.einsum("nij,nj->ni", gram, v)
        norm = np.sqrt(np.einsum("ni,ni->n", v, v))
        v /= np.where(norm > 0, norm, 1.0)[:, None]
    rho = np.einsum("ni,ni->n", v, np.einsum("nij,nj->ni", gram, v))  # 0 for a zero block
    k = np.floor(np.sqrt(np.maximum(rho, 0.0)) * (1 - _MARGIN) / half)
    shifted = -gram
    diag = np.arange(4)
    shifted[:, diag, diag] += ((half * (k + 1)) ** 2 * (1 - _MARGIN))[:, None]
    reads = (k % 2 == 1).astype(np.float64)
    unproven = ~_positive_definite(shifted)
    if unproven.any():
        top = np.sqrt(np.maximum(np.linalg.eigvalsh(gram[unproven])[:, -1], 0.0))
        reads[unproven] = ((top % scale) > half).astype(np.float64)
    return reads


def _positive_definite(a: np.ndarray) -> np.ndarray:
    """Where each symmetric 4×4 matrix of ``a`` (N, 4, 4) has an unpivoted Cholesky with
    positive pivots, i.e. is positive definite (up to rounding of ~1e-15 of its diagonal)."""
    a01, a02, a03, a12, a13, a23 = a[:, 0, 1], a[:, 0, 2], a[:, 0, 3], a[:, 1, 2], a[:, 1, 3], a[:, 2, 3]
    ok = a[:, 0, 0] > 0
    p0 = np.where(ok, a[:, 0, 0], 1.0)
    l1, l2, l3 = a01 / p0, a02 / p0, a03 / p0
    b11, b12, b13 = a[:, 1, 1] - l1 * a01, a12 - l1 * a02, a13 - l1 * a03
    b22, b23, b33 = a[:, 2, 2] - l2 * a02, a23 - l2 * a03, a[:, 3, 3] - l3 * a03
    ok &= b11 > 0
    p1 = np.where(ok, b11, 1.0)
    m2, m3 = b12 / p1, b13 / p1
    c22, c23, c33 = b22 - m2 * b12, b23 - m2 * b13, b33 - m3 * b13
    ok &= c22 > 0
    p2 = np.where(ok, c22, 1.0)
    return ok & (c33 - (c23 / p2) * c23 > 0)


def message_bits(scores: np.ndarray, length: int) -> np.ndarray:
    """The ``length`` message bits from per-block reads, as invisible-watermark votes: bit ``i``
    is 1 when the mean read of blocks ``i (mod length)`` exceeds 127/255 (0 when it has none)."""
    index = np.arange(scores.size) % length
    sums = np.bincount(index, weights=scores, minlength=length)
    counts = np.bincount(index, minlength=length)
    return (sums / np.maximum(counts, 1) * 255 > 127).astype(np.uint8)


class DwtDctSvdBch:
    """dwtDctSvd (U channel, 4×4 blocks of the DWT approximation) + BCH + keyed mask."""

    scheme_id = "hallmark.dwtdctsvd-bch"
    payload_bits = 48
    min_size = 256  # invisible-watermark refuses images under 256×256

    def __init__(self, *, key: bytes) -> None:
        self._code = PayloadCode(
            key=check_key(key, self.scheme_id), label=self.scheme_id, data_bits=48, tag_bits=0, t=6, m=7
        )

    def _engine(self, bits: list[int]) -> object:
        module = imwatermark_module("dwtDctSvd")
        return module.EmbedDwtDctSvd(bits, wmLen=self._code.codeword_bits, scales=[0, 36, 0], block=4)

    def embed(self, image: Image.Image, payload: bytes) -> Image.Image:
        """The image with ``payload`` (6 bytes) embedded; mode and size are kept."""
        canvas = open_canvas(image, scheme_id=self.scheme_id, min_size=self.min_size, colour_only=True)
        bits = [int(b) for b in self._code.encode(payload)]
        try:
            marked = self._engine(bits).encode(to_bgr(canvas.pixels))  # type: ignore[attr-defined]
        except Exception as e:  # OpenCV / pywt failures surface as many types
            raise WatermarkError(f"dwtDctSvd embedding failed: {type(e).__name__}") from e
        return canvas.to_image(np.asarray(marked, np.float32)[:, :, ::-1])

    def codeword(self, payload: bytes) -> np.ndarray:
        """The masked codeword bits that ``embed`` writes for ``payload``."""
        return self._code.encode(payload)

    def read_bits(self, image: Image.Image) -> np.ndarray | None:
        """The raw (masked) codeword bits in ``image`` before error correction, or None when it
        is too small to hold them. Any mode is read as RGB: reading changes nothing."""
        w, h = image.size
        if w * h < 256 * 256:
            return None
        try:
            scores = svd_block_scores(np.asarray(image.convert("RGB")))
        except Exception as e:  # OpenCV / LAPACK failures surface as many types
            raise WatermarkError(f"dwtDctSvd reading failed: {type(e).__name__}") from e
        return message_bits(scores, self._code.codeword_bits)

    def detect(self, image: Image.Image) -> WatermarkReading:
        """Read the codeword and decide: found when BCH corrects it (≤ 6 errors)."""
        raw = self.read_bits(image)
        if raw is None:
            return WatermarkReading(
                scheme_id=self.scheme_id, found=False, detail="image under 256×256: not readable"
            )
        decoded = self._code.decode(np.asarray(raw, np.uint8))
        if decoded is None:
            return WatermarkReading(
                scheme_id=self.scheme_id,
                found=False,
                detail="no codeword within 6 bit errors",
            )
        payload, nerr = decoded
        # Any decode, not one this close: without a keyed check, the ball of t errors around
        # each of the 2^48 codewords is what an unmarked image falls into (~1 in 6,000 images).
        fpp = self._code.false_positive_probability(self._code.t)
        return WatermarkReading(
            scheme_id=self.scheme_id,
            found=True,
            payload=payload,
            bit_errors=nerr,
            confidence=1.0 - nerr / (self._code.t + 1),
            false_positive_probability=fpp,
            detail=f"BCH corrected {nerr} of {self._code.codeword_bits} bits",
        )
