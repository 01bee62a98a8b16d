"""The first scheme, ``hallmark.dwtdctsvd-bch``: invisible-watermark's dwtDctSvd carrying a
48-bit payload protected by BCH(t=6) and XORed with a keyed mask.

It survives re-encoding (JPEG 75) but not crops, rotation or strong brightness changes; the
robust scheme of our own is ``hallmark.wm1``. It stays decodable because images marked with it
exist.

Reading does not call invisible-watermark: its decoder runs a 4×4 DCT and SVD per block in
Python loops (0.4-1.6 s at 1024 px). ``svd_block_scores`` computes the same reads for all
blocks at once (~30 ms); embedding still goes through invisible-watermark's encoder.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

from policies._errors import WatermarkError
from provenance._types import WatermarkReading
from provenance._watermark_codec import PayloadCode, check_key
from provenance._watermark_image import open_canvas


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


def u_approximation(rgb: np.ndarray, *, as_float32: bool) -> np.ndarray:
    """The level-1 Haar approximation band of the U channel of an 8-bit RGB array, bit for bit
    as invisible-watermark computes it from the BGR array it is handed.

    ``as_float32`` reads the image the way a caller passing float32 BGR does (diffusers, our
    scheme): OpenCV's float YUV conversion, then pywt's float32 arithmetic; otherwise the uint8
    conversion and float64 arithmetic. The Haar step is pywt's own sum of products, in its order,
    so the band is identical, not merely close; only the U plane is built.
    """
    import cv2

    rows, cols = rgb.shape[:2]
    if as_float32:
        # OpenCV's float BGR->YUV and RGB->YUV round differently: use the order callers use.
        bgr = cv2.cvtColor(np.ascontiguousarray(rgb, np.uint8), cv2.COLOR_RGB2BGR).astype(np.float32)
        u = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[: rows // 4 * 4, : cols // 4 * 4, 1]
        tap: np.floating = np.float32(_HAAR_TAP)
    else:  # the integer conversion is exact either way round: skip the channel swap
        yuv = cv2.cvtColor(np.ascontiguousarray(rgb, np.uint8), cv2.COLOR_RGB2YUV)
        u = yuv[: rows // 4 * 4, : cols // 4 * 4, 1].astype(np.float64)
        tap = np.float64(_HAAR_TAP)
    half = tap * u[1::2] + tap * u[0::2]
    return tap * half[:, 1::2] + tap * half[:, 0::2]


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
    as the block itself; the largest is the square root of the top eigenvalue of BᵀB, found for
    all blocks in one batched ``eigvalsh``. It is computed in float64 from the exact float32 band,
    so it can differ from invisible-watermark's float32 DCT+SVD only for a block within ~1e-4 of
    a decision edge (measured: a handful of blocks in a million).
    """
    blocks = blocks_of(u_approximation(rgb, as_float32=True)).astype(np.float64)
    gram = np.matmul(blocks.transpose(0, 2, 1), blocks)
    top = np.sqrt(np.maximum(np.linalg.eigvalsh(gram)[:, -1], 0.0))
    return ((top % scale) > 0.5 * scale).astype(np.float64)


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
        fpp = self._code.false_positive_probability(nerr)
        return WatermarkReading(
            scheme_id=self.scheme_id,
            found=True,
            payload=payload,
            bit_errors=nerr,
            confidence=1.0 - nerr / (self._code.t + 1),
            false_positive_probability=fpp,
            detail=f"BCH corrected {nerr} of {self._code.codeword_bits} bits",
        )
