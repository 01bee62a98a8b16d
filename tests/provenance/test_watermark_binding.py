"""Content binding: the fingerprint a release records, and whether a found picture matches it
through the watermark's registration (benign copies do, blind transplants of the mark do not)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter
from skimage import data

from hallmark.provenance import ContentBinding, WatermarkScheme, content_fingerprint, watermark_scheme
from hallmark.provenance.watermark import bind_content
from hallmark.provenance.watermark._binding import FINGERPRINT_ALG, MATCH_DISTANCE

KEY = bytes(range(32))
PAYLOAD = bytes.fromhex("0badc0ffee42")


def _square(array: np.ndarray, size: int) -> Image.Image:
    img = Image.fromarray(array).convert("RGB")
    s = min(img.size)
    return img.crop((0, 0, s, s)).resize((size, size), Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _scale(image: Image.Image, f: float) -> Image.Image:
    return image.resize((round(image.width * f), round(image.height * f)), Image.Resampling.BICUBIC)


def transplant(marked: Image.Image, target: Image.Image, *, gain: float, quality: int) -> Image.Image:
    """The blind attack: the marked image minus a blurred copy of itself (no original needed),
    added to an unrelated photo of the same size, saved as JPEG."""
    m = np.asarray(marked.convert("RGB"), np.float32)
    residual = m - np.asarray(marked.convert("RGB").filter(ImageFilter.GaussianBlur(1.2)), np.float32)
    t = np.asarray(target.convert("RGB").resize(marked.size, Image.Resampling.LANCZOS), np.float32)
    return _jpeg(Image.fromarray(np.clip(np.rint(t + gain * residual), 0, 255).astype(np.uint8)), quality)


@pytest.fixture(scope="module")
def wm1() -> WatermarkScheme:
    return watermark_scheme("hallmark.wm1", key=KEY)


@pytest.fixture(scope="module")
def marked(wm1: WatermarkScheme) -> Image.Image:
    return wm1.embed(_square(data.coffee(), 1024), PAYLOAD)


def bind(wm1: WatermarkScheme, found: Image.Image, fingerprint: dict) -> ContentBinding:
    reading = wm1.detect(found)
    assert reading.found and reading.payload == PAYLOAD, reading.detail
    assert reading.grid is not None and reading.grid.tile == 32
    return bind_content(found, fingerprint, reading=reading)


def test_fingerprint_is_compact_and_deterministic(marked: Image.Image) -> None:
    fp = content_fingerprint(marked)
    assert fp["alg"] == FINGERPRINT_ALG and fp["size"] == [1024, 1024] and fp["grid"] == [16, 16]
    # Two bits for each of the 480 pairs of neighbouring cells: 120 bytes.
    assert len(bytes.fromhex(fp["steps"])) == 120
    assert content_fingerprint(marked.copy()) == fp
    wide = content_fingerprint(marked.resize((1024, 512)))
    assert wide["grid"] == [32, 16]


BENIGN = {
    "jpeg75": lambda im: _jpeg(im, 75),
    "resize0.5": lambda im: _scale(im, 0.5),
    "crop25-corner": lambda im: im.crop((0, 0, 768, 768)),
    "crop10-centre": lambda im: im.crop((51, 51, 973, 973)),
    "rotate2": lambda im: im.rotate(2.0, Image.Resampling.BICUBIC),
    "contrast-20": lambda im: ImageEnhance.Contrast(im).enhance(0.8),
    "crop+resize+jpeg": lambda im: _jpeg(_scale(im.crop((51, 51, 973, 973)), 0.5), 75),
}


@pytest.mark.parametrize("attack", list(BENIGN))
def test_benign_copies_match(wm1: WatermarkScheme, marked: Image.Image, attack: str) -> None:
    binding = bind(wm1, BENIGN[attack](marked), content_fingerprint(marked))
    assert binding.matched is True, binding
    assert binding.distance is not None and binding.distance <= 0.1
    assert binding.compared >= 100 and binding.threshold == MATCH_DISTANCE


@pytest.mark.parametrize(
    ("target", "gain", "quality"),
    [(data.rocket, 1.0, 95), (data.chelsea, 2.0, 85), (data.camera, 3.0, 70)],
)
def test_transplanted_mark_does_not_match(
    wm1: WatermarkScheme, marked: Image.Image, target: object, gain: float, quality: int
) -> None:
    forged = transplant(marked, Image.fromarray(target()), gain=gain, quality=quality)  # type: ignore[operator]
    binding = bind(wm1, forged, content_fingerprint(marked))  # the mark itself reads back
    assert binding.matched is False, binding
    assert binding.distance is not None and binding.distance >= 0.3
    assert "does not match" in binding.reason


def test_transplant_onto_a_larger_tiled_target_does_not_match(wm1: WatermarkScheme) -> None:
    source = wm1.embed(_square(data.chelsea(), 1024), PAYLOAD)
    m = np.asarray(source, np.float32)
    residual = m - np.asarray(source.filter(ImageFilter.GaussianBlur(1.2)), np.float32)
    target = np.asarray(Image.fromarray(data.rocket()).resize((1300, 1100)), np.float32)
    tiled = np.tile(residual, (2, 2, 1))[:1100, :1300]
    forged = _jpeg(Image.fromarray(np.clip(np.rint(target + 2 * tiled), 0, 255).astype(np.uint8)), 90)
    binding = bind(wm1, forged, content_fingerprint(source))
    assert binding.matched is False, binding


def test_a_crop_too_small_to_compare_is_not_checked(wm1: WatermarkScheme, marked: Image.Image) -> None:
    reading = wm1.detect(marked)
    # The full image's registration, applied to a corner 200 px across: 3 x 3 cells of 64 px.
    binding = bind_content(marked.crop((0, 0, 200, 200)), content_fingerprint(marked), reading=reading)
    assert binding.matched is None and binding.distance is None
    assert "too little of the released picture" in binding.reason and binding.placements > 1


def test_without_a_registration_the_whole_picture_is_compared(marked: Image.Image) -> None:
    fp = content_fingerprint(marked)
    assert bind_content(_jpeg(_scale(marked, 0.5), 80), fp).matched is True
    other = content_fingerprint(_square(data.astronaut(), 1024))
    binding = bind_content(marked, other)
    assert binding.matched is False and binding.placements == 1


@pytest.mark.parametrize(
    "fingerprint",
    [
        {},
        {"alg": "pdq", "size": [1024, 1024], "grid": [16, 16], "steps": "00"},
        {"alg": FINGERPRINT_ALG, "size": [1024, 1024], "grid": [16, 16], "steps": "zz"},
        {"alg": FINGERPRINT_ALG, "size": [1024, 1024], "grid": [16, 16], "steps": "00" * 119},
        {"alg": FINGERPRINT_ALG, "size": [1024, 1024], "grid": [15, 16], "steps": "00" * 120},
        {"alg": FINGERPRINT_ALG, "size": [1024, 1024], "grid": [16, 16], "steps": "ff" * 120},
    ],
)
def test_a_fingerprint_it_cannot_read_is_not_checked(marked: Image.Image, fingerprint: dict) -> None:
    binding = bind_content(marked, fingerprint)
    assert binding.matched is None and binding.compared == 0
    assert binding.reason.startswith("unknown fingerprint")
    assert binding.to_dict()["matched"] is None
