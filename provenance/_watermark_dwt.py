"""The first scheme, ``hallmark.dwtdctsvd-bch``: invisible-watermark's dwtDctSvd carrying a
48-bit payload protected by BCH(t=6) and XORed with a keyed mask.

It survives re-encoding (JPEG 75) but not crops, rotation or strong brightness changes; the
robust scheme of our own is ``hallmark.wm1``. It stays decodable because images marked with it
exist.
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
            raw = self._engine([]).decode(to_bgr(np.asarray(image.convert("RGB"))))  # type: ignore[attr-defined]
        except Exception as e:
            raise WatermarkError(f"dwtDctSvd reading failed: {type(e).__name__}") from e
        return np.asarray(raw, np.uint8)

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
