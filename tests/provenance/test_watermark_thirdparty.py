"""Known third-party marks (SDXL, SD 1.x, SD 2.x): marked images are recognised, clean ones not.

Images are marked with invisible-watermark's own WatermarkEncoder, the way diffusers'
StableDiffusionXLWatermarker (float32 BGR, 48 "bits") and the SD 1.x/2.x scripts (uint8 BGR,
"bytes") call it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import pywt
from PIL import Image
from skimage import data

from hallmark.provenance import detect_third_party
from hallmark.provenance.watermark._thirdparty import KNOWN_MARKS, block_scores, read_bits

# diffusers/pipelines/stable_diffusion_xl/watermark.py
WATERMARK_MESSAGE = 0b101100111110110010010000011110111011000110011110
WATERMARK_BITS = [int(bit) for bit in bin(WATERMARK_MESSAGE)[2:]]


@pytest.fixture(scope="module")
def encoder_cls() -> type:
    imwatermark = pytest.importorskip("imwatermark")  # imports torch: once per module
    return imwatermark.WatermarkEncoder


def _photos() -> list[Image.Image]:
    # dwtDct itself fails to embed in some photos (coffee reads 30/48 with its own decoder).
    return [Image.fromarray(a).convert("RGB").resize((512, 512)) for a in (data.astronaut(), data.rocket())]


def _sdxl(encoder_cls: type, image: Image.Image) -> Image.Image:
    encoder = encoder_cls()
    encoder.set_watermark("bits", WATERMARK_BITS)
    bgr = np.asarray(image, np.float32)[:, :, ::-1]  # as diffusers: float 0..255, BGR
    out = encoder.encode(bgr, "dwtDct")[:, :, ::-1]
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))


def _scripts(encoder_cls: type, image: Image.Image, message: bytes) -> Image.Image:
    encoder = encoder_cls()
    encoder.set_watermark("bytes", message)
    bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])  # as the SD scripts: uint8 BGR
    return Image.fromarray(np.ascontiguousarray(encoder.encode(bgr, "dwtDct")[:, :, ::-1]))


def _found(image: Image.Image) -> dict[str, str]:
    return {r.scheme_id: r.detail for r in detect_third_party(image) if r.found}


def test_sdxl_mark_is_recognised(encoder_cls: type) -> None:
    for photo in _photos():
        readings = {r.scheme_id: r for r in detect_third_party(_sdxl(encoder_cls, photo))}
        sdxl = readings["sdxl.dwtdct"]
        assert sdxl.found, sdxl.detail
        assert sdxl.detail.startswith("made by Stable Diffusion XL's reference pipeline (")
        assert sdxl.detail.endswith("/48 bits match)")
        assert sdxl.false_positive_probability is not None and sdxl.false_positive_probability < 1e-3
        assert not readings["sd1.dwtdct"].found and not readings["sd2.dwtdct"].found


@pytest.mark.parametrize(
    ("message", "scheme_id"), [(b"StableDiffusionV1", "sd1.dwtdct"), (b"SDV2", "sd2.dwtdct")]
)
def test_sd1_and_sd2_marks_are_recognised(encoder_cls: type, message: bytes, scheme_id: str) -> None:
    for photo in _photos():
        found = _found(_scripts(encoder_cls, photo, message))
        assert list(found) == [scheme_id], found


def test_clean_images_carry_no_third_party_mark() -> None:
    for array in (
        data.astronaut(),
        data.chelsea(),
        data.coffee(),
        data.rocket(),
        data.camera(),
        data.hubble_deep_field(),
    ):
        clean = Image.fromarray(array)
        for image in (clean, clean.resize((1024, 1024)), clean.crop((5, 9, 300, 290))):
            readings = detect_third_party(image)
            assert [r.scheme_id for r in readings] == [m.scheme_id for m in KNOWN_MARKS]
            assert not any(r.found for r in readings), [r.detail for r in readings]


def test_small_images_are_reported_unreadable() -> None:
    readings = detect_third_party(Image.new("RGB", (200, 200)))
    assert len(readings) == 3 and not any(r.found for r in readings)
    assert all("not readable" in r.detail for r in readings)


def test_vectorised_reader_matches_invisible_watermark() -> None:
    from hallmark.provenance.watermark._dwt import imwatermark_module

    maxdct = imwatermark_module("maxDct")
    for array in (data.astronaut(), data.coffee()[3:390, 5:601], data.chelsea()):
        bgr = np.ascontiguousarray(array[:, :, ::-1])
        for as_float32 in (False, True):
            handed = bgr.astype(np.float32) if as_float32 else bgr
            # Every block's read, not just the voted bits: wmLen=1 keeps them in block order.
            rows, cols = bgr.shape[:2]
            yuv = cv2.cvtColor(handed, cv2.COLOR_BGR2YUV)
            band = pywt.dwt2(yuv[: rows // 4 * 4, : cols // 4 * 4, 1], "haar")[0]
            reference = maxdct.EmbedMaxDct(watermarks=[], wmLen=1).decode_frame(band, 36, [[]])[0]
            scores = block_scores(np.ascontiguousarray(array), as_float32=as_float32)
            assert np.array_equal(scores, np.asarray(reference, np.float64))
            for n in (48, 136, 32):
                expected = maxdct.EmbedMaxDct(watermarks=[], wmLen=n).decode(handed).astype(np.uint8)
                assert np.array_equal(read_bits(scores, n), expected)
